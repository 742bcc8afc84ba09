// Package furl holds the transport-independent core of Lambda function
// URLs: validation of URL configurations as the Lambda API validates
// them, URL ids and the two URL forms sluice serves, the payload format
// 2.0 event a request becomes, the mapping of buffered and streamed
// function responses to HTTP responses, and CORS.
//
// Everything here is a pure function of its arguments (NewURLID aside),
// so that the HTTP front end that serves function URLs and the API that
// manages their configurations stay thin. The package imports only the
// root package and the standard library. Choices and their sources are in
// docs/decisions.md ("Function URLs").
package furl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
)

// QualifierPattern is the pattern of a function URL's Qualifier (an alias
// name: neither $LATEST nor a version number), as Lambda's model spells it
// in its ValidationException (recorded by LocalStack,
// test_url_config_exceptions).
const QualifierPattern = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`

var (
	qualifierCharsRE = regexp.MustCompile(`^[0-9a-zA-Z_-]+$`)
	digitsRE         = regexp.MustCompile(`^\d+$`)
)

// Enum value sets in the order Lambda lists them in its messages.
const (
	authTypeEnum   = "[NONE, AWS_IAM]"
	invokeModeEnum = "[RESPONSE_STREAM, BUFFERED]" // recorded: test_lambda_url_invalid_invoke_mode
)

// corsMethods are the values AllowMethods accepts beside "*".
var corsMethods = []string{"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"}

// Input is the body of CreateFunctionUrlConfig or UpdateFunctionUrlConfig:
// each field is nil when the request does not carry it.
type Input struct {
	AuthType   *string
	InvokeMode *string
	Cors       *CorsInput
}

// CorsInput is the Cors member of a request; nil fields are absent.
type CorsInput struct {
	AllowCredentials *bool
	AllowHeaders     []string
	AllowMethods     []string
	AllowOrigins     []string
	ExposeHeaders    []string
	MaxAge           *int
}

// ValidateQualifier adds a violation (field "qualifier") to v when q, a
// function URL's Qualifier, is not an alias name. "" means not given and
// is valid.
func ValidateQualifier(q string, v *sluice.Violations) bool {
	if q == "" {
		return true
	}
	ok := true
	if utf8.RuneCountInString(q) > sluice.MaxURLQualifierLength {
		v.Add(q, "qualifier", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxURLQualifierLength))
		ok = false
	}
	if !qualifierCharsRE.MatchString(q) || digitsRE.MatchString(q) {
		v.Add(q, "qualifier", "Member must satisfy regular expression pattern: "+QualifierPattern)
		ok = false
	}
	return ok
}

// Validate checks the body of a CreateFunctionUrlConfig (create true:
// AuthType is required) or UpdateFunctionUrlConfig request. Model
// constraints come first, all together, as one ValidationException
// (sluice.EValidation); then the values of AllowMethods, which Lambda
// checks beyond its model, as an InvalidParameterValueException
// (sluice.EInvalidParameter).
func Validate(in Input, create bool) error {
	var v sluice.Violations
	switch {
	case in.AuthType == nil && create:
		v.AddNull("authType")
	case in.AuthType != nil && *in.AuthType != sluice.URLAuthNone && *in.AuthType != sluice.URLAuthIAM:
		v.Add(*in.AuthType, "authType", "Member must satisfy enum value set: "+authTypeEnum)
	}
	if in.InvokeMode != nil && *in.InvokeMode != sluice.InvokeModeBuffered && *in.InvokeMode != sluice.InvokeModeResponseStream {
		v.Add(*in.InvokeMode, "invokeMode", "Member must satisfy enum value set: "+invokeModeEnum)
	}
	if c := in.Cors; c != nil {
		validateList(c.AllowHeaders, "cors.allowHeaders", sluice.MaxCorsHeaders, 0, sluice.MaxCorsHeaderLength, &v)
		validateList(c.AllowMethods, "cors.allowMethods", sluice.MaxCorsMethods, 0, sluice.MaxCorsMethodLength, &v)
		validateList(c.AllowOrigins, "cors.allowOrigins", sluice.MaxCorsOrigins, 1, sluice.MaxCorsOriginLength, &v)
		validateList(c.ExposeHeaders, "cors.exposeHeaders", sluice.MaxCorsHeaders, 0, sluice.MaxCorsHeaderLength, &v)
		if c.MaxAge != nil {
			if *c.MaxAge < 0 {
				v.Add(fmt.Sprint(*c.MaxAge), "cors.maxAge", "Member must have value greater than or equal to 0")
			} else if *c.MaxAge > sluice.MaxCorsMaxAge {
				v.Add(fmt.Sprint(*c.MaxAge), "cors.maxAge", fmt.Sprintf("Member must have value less than or equal to %d", sluice.MaxCorsMaxAge))
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if c := in.Cors; c != nil {
		for _, m := range c.AllowMethods {
			if m != "*" && !slices.Contains(corsMethods, m) {
				return sluice.Errorf(sluice.EInvalidParameter, "Invalid value for AllowMethods: %s. You can use GET, PUT, POST, DELETE, HEAD, PATCH, and the wildcard character (*).", m)
			}
		}
	}
	return nil
}

// validateList adds the violations of a list member: more than maxItems
// items, or items shorter than minLen or longer than maxLen characters.
// Lambda renders a list value as [a, b].
func validateList(list []string, field string, maxItems, minLen, maxLen int, v *sluice.Violations) {
	value := "[" + strings.Join(list, ", ") + "]"
	if len(list) > maxItems {
		v.Add(value, field, fmt.Sprintf("Member must have length less than or equal to %d", maxItems))
	}
	var c []string
	for _, s := range list {
		n := utf8.RuneCountInString(s)
		if n > maxLen && !slices.Contains(c, fmt.Sprintf("Member must have length less than or equal to %d", maxLen)) {
			c = append(c, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
		}
		if n < minLen && !slices.Contains(c, fmt.Sprintf("Member must have length greater than or equal to %d", minLen)) {
			c = append(c, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
		}
	}
	if len(c) > 0 {
		v.Add(value, field, "Member must satisfy constraint: ["+strings.Join(c, ", ")+"]")
	}
}

// Apply returns the configuration an accepted request makes of old: a new
// one from a create (old nil; InvokeMode stays "" when absent, which reads
// as BUFFERED, and Cors nil when absent), or old with the fields an update
// carries replaced (a Cors member replaces the whole Cors; absent fields
// keep their values, as recorded in test_lambda_update_function_url_config).
// It does not set URLID, FunctionName, Qualifier or the times.
func Apply(old *sluice.FunctionURLConfig, in Input) *sluice.FunctionURLConfig {
	var c *sluice.FunctionURLConfig
	if old == nil {
		c = &sluice.FunctionURLConfig{}
	} else {
		c = old.Clone()
	}
	if in.AuthType != nil {
		c.AuthType = *in.AuthType
	}
	if in.InvokeMode != nil {
		c.InvokeMode = *in.InvokeMode
	}
	if in.Cors != nil {
		c.Cors = &sluice.Cors{
			AllowHeaders:  slices.Clone(in.Cors.AllowHeaders),
			AllowMethods:  slices.Clone(in.Cors.AllowMethods),
			AllowOrigins:  slices.Clone(in.Cors.AllowOrigins),
			ExposeHeaders: slices.Clone(in.Cors.ExposeHeaders),
		}
		if in.Cors.AllowCredentials != nil {
			c.Cors.AllowCredentials = *in.Cors.AllowCredentials
		}
		if in.Cors.MaxAge != nil {
			c.Cors.MaxAge = *in.Cors.MaxAge
		}
	}
	return c
}
