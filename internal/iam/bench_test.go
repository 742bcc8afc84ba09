package iam

import "testing"

// The costs of one authorization, as the API pays them per request: an
// identity policy that decides alone, and a cross-account call that also
// evaluates the function's resource policy (parsed from its stored JSON
// each time, as internal/api does).
func BenchmarkAuthorize(b *testing.B) {
	identity, err := ParseIdentityPolicy([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"lambda:*","Resource":"*"},
		{"Effect":"Deny","Action":"lambda:DeleteFunction","Resource":"arn:aws:lambda:*:111111111111:function:prod-*"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	const doc = `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"b","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}]}`
	req := Request{Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:111111111111:function:f",
		Context: map[string]string{"lambda:FunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:f"}}
	own := &Principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/AKIAEXAMPLE", AccessKeyID: "AKIAEXAMPLE", Policy: identity}
	other := &Principal{Account: "222222222222", ARN: "arn:aws:iam::222222222222:user/AKIAOTHER", AccessKeyID: "AKIAOTHER", Admin: true}
	b.Run("identity", func(b *testing.B) {
		for b.Loop() {
			if own.Policy.Identity(req) != Allow {
				b.Fatal("denied")
			}
		}
	})
	b.Run("cross-account", func(b *testing.B) {
		for b.Loop() {
			p, err := ParseResourcePolicy([]byte(doc))
			if err != nil {
				b.Fatal(err)
			}
			if err := Authorize(other, "111111111111", p, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
