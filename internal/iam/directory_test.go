package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	secretA  = "sEcReT-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	secretA2 = "sEcReT-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	secretB  = "sEcReT-ccccccccccccccccccccccccccccccccc"
)

var validAuthFile = `{"Accounts": {
  "111111111111": {
    "AccessKeys": [
      {"AccessKeyId": "AKIAADMINA", "SecretAccessKey": "` + secretA + `"},
      {"AccessKeyId": "AKIAREADER", "SecretAccessKey": "` + secretA2 + `",
       "Policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:Get*", "Resource": "*"}]}}
    ],
    "Roles": {
      "fn-role": {"Policy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:target"}}},
      "admin-role": {"Policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
    }
  },
  "222222222222": {
    "AccessKeys": [{"AccessKeyId": "AKIAADMINB", "SecretAccessKey": "` + secretB + `"}]
  },
  "333333333333": {}
}}`

func TestParseAuthFile(t *testing.T) {
	d, err := ParseAuthFile([]byte(validAuthFile))
	if err != nil {
		t.Fatal(err)
	}
	if d.IsDevelopment() {
		t.Error("an auth file is not the development directory")
	}
	if got := d.Accounts(); !slices.Equal(got, []string{"111111111111", "222222222222", "333333333333"}) {
		t.Errorf("Accounts = %v", got)
	}
	d.Accounts()[0] = "x" // a copy
	if d.Accounts()[0] != "111111111111" {
		t.Error("Accounts returned its own slice")
	}

	secret, p, ok := d.Key("AKIAADMINA")
	if !ok || secret != secretA {
		t.Fatalf("Key(AKIAADMINA) = %q, %v", secret, ok)
	}
	want := Principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/AKIAADMINA", AccessKeyID: "AKIAADMINA", Admin: true}
	if *p != want {
		t.Errorf("admin principal = %+v, want %+v", *p, want)
	}
	p.Account = "999999999999" // a copy: the directory is not changed
	if _, p2, _ := d.Key("AKIAADMINA"); p2.Account != "111111111111" {
		t.Error("Key returned a shared Principal")
	}

	secret, p, ok = d.Key("AKIAREADER")
	if !ok || secret != secretA2 || p.Admin || p.Policy == nil || p.ARN != "arn:aws:iam::111111111111:user/AKIAREADER" {
		t.Fatalf("Key(AKIAREADER) = %q, %+v, %v", secret, p, ok)
	}
	if err := Authorize(p, "111111111111", nil, Request{Action: "lambda:GetFunction", Resource: "arn:aws:lambda:us-east-1:111111111111:function:x"}); err != nil {
		t.Errorf("reader may GetFunction: %v", err)
	}
	if err := Authorize(p, "111111111111", nil, Request{Action: "lambda:DeleteFunction", Resource: "arn:aws:lambda:us-east-1:111111111111:function:x"}); err == nil {
		t.Error("reader may DeleteFunction")
	}

	if _, p, ok := d.Key("AKIAADMINB"); !ok || p.Account != "222222222222" || !p.Admin {
		t.Errorf("Key(AKIAADMINB) = %+v, %v", p, ok)
	}
	if _, _, ok := d.Key("AKIAUNKNOWN"); ok {
		t.Error("Key of an unknown id is ok")
	}
	if _, _, ok := d.Key("akiaadmina"); ok {
		t.Error("access key ids are case-sensitive")
	}

	pol, ok := d.Role("111111111111", "fn-role")
	if !ok || pol == nil {
		t.Fatalf("Role(fn-role) = %v, %v", pol, ok)
	}
	if got := pol.Identity(Request{Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:111111111111:function:target"}); got != Allow {
		t.Errorf("fn-role's policy: %v", got)
	}
	if _, ok := d.Role("111111111111", "nope"); ok {
		t.Error("undefined role found")
	}
	if _, ok := d.Role("222222222222", "fn-role"); ok {
		t.Error("a role of account A found in account B")
	}
	if _, ok := d.Role("444444444444", "fn-role"); ok {
		t.Error("a role of an unknown account found")
	}
}

func TestDevelopment(t *testing.T) {
	d := Development("000000000000", "test", "test")
	if !d.IsDevelopment() {
		t.Error("not development")
	}
	secret, p, ok := d.Key("test")
	want := Principal{Account: "000000000000", ARN: "arn:aws:iam::000000000000:user/test", AccessKeyID: "test", Admin: true}
	if !ok || secret != "test" || *p != want {
		t.Fatalf("Key(test) = %q, %+v, %v", secret, p, ok)
	}
	if _, _, ok := d.Key("other"); ok {
		t.Error("unknown key found")
	}
	if pol, ok := d.Role("000000000000", "any-role"); !ok || pol != nil {
		t.Errorf("Role = %v, %v; want nil (administrator), true", pol, ok)
	}
	if got := d.Accounts(); !slices.Equal(got, []string{"000000000000"}) {
		t.Errorf("Accounts = %v", got)
	}
}

func TestLoadAuthFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.json")
	if err := os.WriteFile(path, []byte(validAuthFile), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := LoadAuthFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := d.Key("AKIAADMINB"); !ok {
		t.Error("key missing")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Accounts":{"1":{}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthFile(bad); err == nil || err.Error() != "auth file "+bad+`: Accounts["1"]: an account id must be 12 digits` {
		t.Errorf("LoadAuthFile(bad) = %v", err)
	}
	if _, err := LoadAuthFile(filepath.Join(dir, "missing.json")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("LoadAuthFile(missing) = %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), MaxAuthFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadAuthFile(big) = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// authFile builds a file with one account holding keys (JSON texts).
func authFile(keys ...string) string {
	return `{"Accounts":{"111111111111":{"AccessKeys":[` + strings.Join(keys, ",") + `]}}}`
}

func TestParseAuthFileInvalid(t *testing.T) {
	const key = `{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `"}`
	const okPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	for _, tc := range []struct{ doc, want string }{
		{``, "auth file: not valid JSON: unexpected end of input"},
		{`{"Accounts":{"111111111111":{"AccessKeys":[{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `\q"}]}}}`, "auth file: not valid JSON at line 1, column 127"},
		{`[]`, "auth file: must be an object, not an array"},
		{`{}`, `auth file: missing required element "Accounts"`},
		{`{"accounts":{}}`, `auth file: unknown element "accounts" (expected "Accounts")`},
		{`{"Accounts":[]}`, "auth file: Accounts: must be an object of account ids, not an array"},
		{`{"Accounts":{}}`, "auth file: defines no access keys"},
		{`{"Accounts":{"111111111111":{"Roles":{}}}}`, "auth file: defines no access keys"},
		{`{"Accounts":{"11111111111":{}}}`, `auth file: Accounts["11111111111"]: an account id must be 12 digits`},
		{`{"Accounts":{"11111111111a":{}}}`, `auth file: Accounts["11111111111a"]: an account id must be 12 digits`},
		{`{"Accounts":{"111111111111":{},"111111111111":{}}}`, `auth file: Accounts["111111111111"]: appears more than once`},
		{`{"Accounts":{"111111111111":[]}}`, `auth file: Accounts["111111111111"]: must be an object, not an array`},
		{`{"Accounts":{"111111111111":{"AccessKey":[]}}}`, `auth file: Accounts["111111111111"]: unknown element "AccessKey" (expected "AccessKeys" or "Roles")`},
		{`{"Accounts":{"111111111111":{"AccessKeys":{}}}}`, `auth file: Accounts["111111111111"].AccessKeys: must be an array of access keys, not an object`},
		{authFile(`"AKIA1"`), `auth file: Accounts["111111111111"].AccessKeys[0]: must be an object, not a string`},
		{authFile(`{"SecretAccessKey":"` + secretA + `"}`), `auth file: Accounts["111111111111"].AccessKeys[0]: missing required element "AccessKeyId"`},
		{authFile(`{"AccessKeyId":"AKIA1"}`), `auth file: Accounts["111111111111"].AccessKeys[0]: missing required element "SecretAccessKey"`},
		{authFile(`{"AccessKeyId":1,"SecretAccessKey":"` + secretA + `"}`), `auth file: Accounts["111111111111"].AccessKeys[0].AccessKeyId: must be a string, not a number`},
		{authFile(`{"AccessKeyId":"AKIA 1","SecretAccessKey":"` + secretA + `"}`), `auth file: Accounts["111111111111"].AccessKeys[0].AccessKeyId: "AKIA 1": an access key id must be 1 to 128 letters, digits or '_'`},
		{authFile(`{"AccessKeyId":"","SecretAccessKey":"` + secretA + `"}`), `AccessKeys[0].AccessKeyId: "": an access key id must be`},
		{authFile(`{"AccessKeyId":"ASIAABCDEFGHIJKLMNOP","SecretAccessKey":"` + secretA + `"}`), `AccessKeys[0].AccessKeyId: "ASIAABCDEFGHIJKLMNOP": access key ids beginning with "ASIA" are reserved`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":""}`), `auth file: Accounts["111111111111"].AccessKeys[0].SecretAccessKey: must be 1 to 256 printable ASCII characters, without spaces`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + ` x"}`), `AccessKeys[0].SecretAccessKey: must be 1 to 256 printable ASCII characters`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + strings.Repeat(secretA, 7) + `"}`), `AccessKeys[0].SecretAccessKey: must be 1 to 256`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":["` + secretA + `"]}`), `AccessKeys[0].SecretAccessKey: must be a string, not an array`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","secretAccessKey":"x"}`), `AccessKeys[0]: unknown element "secretAccessKey" (expected "AccessKeyId", "SecretAccessKey" or "Policy")`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","SecretAccessKey":"` + secretA2 + `"}`), `AccessKeys[0].SecretAccessKey: appears more than once`},
		{authFile(key, key), `auth file: Accounts["111111111111"].AccessKeys[1].AccessKeyId: "AKIA1" is also defined at Accounts["111111111111"].AccessKeys[0]; access key ids must be unique across the file`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `]},"222222222222":{"AccessKeys":[` + key + `]}}}`, `auth file: Accounts["222222222222"].AccessKeys[0].AccessKeyId: "AKIA1" is also defined at Accounts["111111111111"].AccessKeys[0]`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":null}`), `auth file: Accounts["111111111111"].AccessKeys[0].Policy: must be a policy document (an object), not null; leave Policy out for an administrator key`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":"` + strings.ReplaceAll(okPolicy, `"`, `\"`) + `"}`), `AccessKeys[0].Policy: must be a policy document (an object), not a string`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":{}}`), `auth file: Accounts["111111111111"].AccessKeys[0].Policy: missing required element "Statement"`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Permit","Action":"*","Resource":"*"}]}}`), `auth file: Accounts["111111111111"].AccessKeys[0].Policy.Statement[1].Effect: must be "Allow" or "Deny", not "Permit"`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a:b":"1"}}}}}`), `auth file: Accounts["111111111111"].AccessKeys[0].Policy.Statement.Condition.NumericEquals: the condition operator NumericEquals is not supported by sluice`},
		{authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}`), `auth file: Accounts["111111111111"].AccessKeys[0].Policy.Statement.Principal: an identity-based policy must not have a Principal element`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":[]}}}`, `auth file: Accounts["111111111111"].Roles: must be an object of role names, not an array`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"bad role":{"Policy":` + okPolicy + `}}}}}`, `auth file: Accounts["111111111111"].Roles["bad role"]: a role name must be 1 to 64 characters`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"":{"Policy":` + okPolicy + `}}}}}`, `auth file: Accounts["111111111111"].Roles[""]: a role name must be`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"r":{}}}}}`, `auth file: Accounts["111111111111"].Roles["r"]: missing required element "Policy" (the role's identity policy)`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"r":{"Policy":` + okPolicy + `,"Trust":{}}}}}}`, `auth file: Accounts["111111111111"].Roles["r"]: unknown element "Trust" (expected "Policy")`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"r":{"Policy":` + okPolicy + `},"r":{"Policy":` + okPolicy + `}}}}}`, `auth file: Accounts["111111111111"].Roles["r"]: appears more than once`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"r":{"Policy":{"Statement":{"Effect":"Allow","Action":"Invoke","Resource":"*"}}}}}}}`, `auth file: Accounts["111111111111"].Roles["r"].Policy.Statement.Action: "Invoke"`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `],"Roles":{"r":{"Policy":{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":["x",[]]}}}}}}}}}`, `auth file: Accounts["111111111111"].Roles["r"].Policy.Statement.Condition.StringEquals.a:b[1]: a condition value must be a string, number or boolean, not an array`},
		{`{"Accounts":{"111111111111":{"AccessKeys":[` + key + `]}}} x`, "auth file: not valid JSON at line 1, column 133"},
	} {
		_, err := ParseAuthFile([]byte(tc.doc))
		if err == nil {
			t.Errorf("ParseAuthFile(%s) succeeded, want %q", tc.doc, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAuthFile(%s):\n got %q\nwant it to contain %q", tc.doc, err, tc.want)
		}
		for _, s := range []string{secretA, secretA2, secretB, "sEcReT"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
}

// Printing or logging a Directory or a Principal, with any verb or handler,
// never shows a secret.
func TestSecretsNotPrinted(t *testing.T) {
	d, err := ParseAuthFile([]byte(validAuthFile))
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := d.Key("AKIAREADER")
	dev := Development("000000000000", "test", "devsecret-xyz")
	var out []string
	for _, v := range []any{d, *d, p, *p, dev, *dev, []*Directory{d}, map[string]any{"d": d, "dv": *d}, struct{ D Directory }{*d}, struct{ d Directory }{*d}, struct{ p *Principal }{p}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("loaded", "dir", d, "dirValue", *d, "principal", p, "dev", dev)
		l.Info("any", slog.Any("dir", d))
	}
	out = append(out, logs.String())
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))
	all := strings.Join(out, "\n")
	for _, s := range []string{secretA, secretA2, secretB, "sEcReT", "devsecret"} {
		if strings.Contains(all, s) {
			t.Fatalf("secret %q printed:\n%s", s, all)
		}
	}
	if got := fmt.Sprint(d); got != "iam.Directory{auth file, accounts: 111111111111,222222222222,333333333333, keys: 3, roles: 2}" {
		t.Errorf("String = %q", got)
	}
	if got := fmt.Sprint(dev); got != "iam.Directory{development, accounts: 000000000000, keys: 1, roles: 0}" {
		t.Errorf("String = %q", got)
	}
	if !strings.Contains(logs.String(), `"principal":{"arn":"arn:aws:iam::111111111111:user/AKIAREADER","account":"111111111111","access_key_id":"AKIAREADER"}`) {
		t.Errorf("principal not logged as expected:\n%s", logs.String())
	}
	if got := fmt.Sprint(p); got != "arn:aws:iam::111111111111:user/AKIAREADER" {
		t.Errorf("Principal prints as %q", got)
	}
	var nilP *Principal
	if got := fmt.Sprint(nilP); got != "anonymous" {
		t.Errorf("nil Principal prints as %q", got)
	}
}
