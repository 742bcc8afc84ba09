package furl

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

func ptr[T any](v T) *T { return &v }

func TestValidateQualifier(t *testing.T) {
	// Messages recorded against AWS: LocalStack test_url_config_exceptions.
	const pattern = "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
	for q, want := range map[string]string{
		"":                       "",
		"live":                   "",
		"prod-2_x":               "",
		strings.Repeat("a", 128): "",
		"1":                      "1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: " + pattern,
		"$LATEST":                "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: " + pattern,
		"a.b":                    "1 validation error detected: Value 'a.b' at 'qualifier' failed to satisfy constraint: " + pattern,
		strings.Repeat("a", 129): "1 validation error detected: Value '" + strings.Repeat("a", 129) + "' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128",
	} {
		var v sluice.Violations
		ValidateQualifier(q, &v)
		got := ""
		if err := v.Err(); err != nil {
			got = err.(*sluice.Error).Message
		}
		if got != want {
			t.Errorf("ValidateQualifier(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("h", 1025)
	for _, tc := range []struct {
		name   string
		in     Input
		create bool
		code   sluice.ErrorCode
		msg    string
	}{
		{name: "minimal create", in: Input{AuthType: ptr("NONE")}, create: true},
		{name: "full", in: Input{AuthType: ptr("AWS_IAM"), InvokeMode: ptr("RESPONSE_STREAM"), Cors: &CorsInput{
			AllowCredentials: ptr(true), AllowHeaders: []string{"x"}, AllowMethods: []string{"GET", "POST", "*"},
			AllowOrigins: []string{"*"}, ExposeHeaders: []string{""}, MaxAge: ptr(86400)}}, create: true},
		{name: "empty update", in: Input{}},
		{name: "create without authType", in: Input{}, create: true, code: sluice.EValidation,
			msg: "1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null"},
		{name: "bad authType", in: Input{AuthType: ptr("OPEN")}, code: sluice.EValidation,
			msg: "1 validation error detected: Value 'OPEN' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"},
		// Recorded: test_lambda_url_invalid_invoke_mode.
		{name: "bad invokeMode", in: Input{AuthType: ptr("NONE"), InvokeMode: ptr("UNKNOWN")}, create: true, code: sluice.EValidation,
			msg: "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"},
		{name: "maxAge high", in: Input{Cors: &CorsInput{MaxAge: ptr(86401)}}, code: sluice.EValidation,
			msg: "1 validation error detected: Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400"},
		{name: "maxAge negative", in: Input{Cors: &CorsInput{MaxAge: ptr(-1)}}, code: sluice.EValidation,
			msg: "1 validation error detected: Value '-1' at 'cors.maxAge' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{name: "too many methods", in: Input{Cors: &CorsInput{AllowMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "*"}}}, code: sluice.EValidation,
			msg: "1 validation error detected: Value '[GET, PUT, POST, DELETE, HEAD, PATCH, *]' at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6"},
		{name: "long method", in: Input{Cors: &CorsInput{AllowMethods: []string{"OPTIONS"}}}, code: sluice.EValidation,
			msg: "1 validation error detected: Value '[OPTIONS]' at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 6]"},
		{name: "empty origin", in: Input{Cors: &CorsInput{AllowOrigins: []string{""}}}, code: sluice.EValidation,
			msg: "1 validation error detected: Value '[]' at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 1]"},
		{name: "long origin", in: Input{Cors: &CorsInput{AllowOrigins: []string{strings.Repeat("o", 254)}}}, code: sluice.EValidation,
			msg: "Member must satisfy constraint: [Member must have length less than or equal to 253]"},
		{name: "too many origins", in: Input{Cors: &CorsInput{AllowOrigins: make101("o")}}, code: sluice.EValidation,
			msg: "at 'cors.allowOrigins' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{name: "long header", in: Input{Cors: &CorsInput{ExposeHeaders: []string{long}}}, code: sluice.EValidation,
			msg: "at 'cors.exposeHeaders' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 1024]"},
		{name: "too many headers", in: Input{Cors: &CorsInput{AllowHeaders: make101("h")}}, code: sluice.EValidation,
			msg: "at 'cors.allowHeaders' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{name: "several", in: Input{AuthType: ptr("x"), InvokeMode: ptr("y")}, code: sluice.EValidation,
			msg: "2 validation errors detected: Value 'x' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]; Value 'y' at 'invokeMode'"},
		{name: "unknown method", in: Input{Cors: &CorsInput{AllowMethods: []string{"GET", "TRACE"}}}, code: sluice.EInvalidParameter,
			msg: "Invalid value for AllowMethods: TRACE. You can use GET, PUT, POST, DELETE, HEAD, PATCH, and the wildcard character (*)."},
		{name: "lower-case method", in: Input{Cors: &CorsInput{AllowMethods: []string{"get"}}}, code: sluice.EInvalidParameter, msg: "Invalid value for AllowMethods: get."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.in, tc.create)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := sluice.ErrorCodeOf(err); got != tc.code {
				t.Fatalf("Validate = %v (code %s), want code %s", err, got, tc.code)
			}
			if msg := err.(*sluice.Error).Message; !strings.Contains(msg, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, tc.msg)
			}
		})
	}
}

func make101(s string) []string {
	out := make([]string, 101)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestApply(t *testing.T) {
	c := Apply(nil, Input{AuthType: ptr("NONE")})
	if c.AuthType != "NONE" || c.InvokeMode != "" || c.Cors != nil || c.InvokeModeOrDefault() != "BUFFERED" {
		t.Errorf("create = %+v, want NONE, no invoke mode (BUFFERED), no Cors", c)
	}
	cors := &CorsInput{AllowOrigins: []string{"*"}, MaxAge: ptr(5), AllowCredentials: ptr(true)}
	c2 := Apply(c, Input{InvokeMode: ptr("RESPONSE_STREAM"), Cors: cors})
	cors.AllowOrigins[0] = "mutated"
	if c2.AuthType != "NONE" || c2.InvokeMode != "RESPONSE_STREAM" || c2.Cors == nil || c2.Cors.AllowOrigins[0] != "*" || c2.Cors.MaxAge != 5 || !c2.Cors.AllowCredentials {
		t.Errorf("update = %+v %+v", c2, c2.Cors)
	}
	if c.InvokeMode != "" {
		t.Error("Apply changed old")
	}
	// An update without InvokeMode keeps it (recorded: test_lambda_update_function_url_config);
	// one with Cors replaces the whole Cors.
	c3 := Apply(c2, Input{Cors: &CorsInput{AllowMethods: []string{"GET"}}})
	if c3.InvokeMode != "RESPONSE_STREAM" || c3.Cors.MaxAge != 0 || c3.Cors.AllowOrigins != nil || c3.Cors.AllowCredentials {
		t.Errorf("second update = %+v %+v", c3, c3.Cors)
	}
}
