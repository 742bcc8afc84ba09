package api_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// aliasPatternMessage is the ValidationException of a bad alias name.
func aliasPatternMessage(name string) string {
	return "1 validation error detected: Value '" + name + "' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
}

// weightRangeMessage and weightKeyMessage are the ValidationExceptions of
// a bad RoutingConfig, as recorded from Lambda.
func weightRangeMessage(m string) string {
	return "1 validation error detected: Value '" + m + "' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"
}

func weightKeyMessage(m string) string {
	return "1 validation error detected: Value '" + m + "' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]"
}

// newAliasEnv returns an env with function name published as versions
// 1, 2 and 3 (Timeouts 3, 11 and 12).
func newAliasEnv(t *testing.T, name string) *env {
	t.Helper()
	e := newEnv(t)
	e.create(name)
	for i := range 3 {
		if i > 0 {
			setTimeoutOrFail(t, e, name, int32(10+i))
		}
		if v := publishOrFail(t, e, name, ""); aws.ToString(v.Version) != fmt.Sprint(i+1) {
			t.Fatalf("published version %q, want %d", aws.ToString(v.Version), i+1)
		}
	}
	return e
}

// createAliasOrFail creates an alias or fails the test.
func createAliasOrFail(t testing.TB, e *env, in *lambda.CreateAliasInput) *lambda.CreateAliasOutput {
	t.Helper()
	out, err := e.client.CreateAlias(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateAlias(%s): %v", aws.ToString(in.Name), err)
	}
	return out
}

func routingWeights(c *types.AliasRoutingConfiguration) map[string]float64 {
	if c == nil {
		return nil
	}
	return c.AdditionalVersionWeights
}

func TestAliasCreate(t *testing.T) {
	e := newAliasEnv(t, "al")
	ctx := context.Background()
	latestBefore := configOrFail(t, e, "al", "")

	live, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("response", func(t *testing.T) {
		if st := successStatus(t, live.ResultMetadata); st != http.StatusCreated {
			t.Errorf("status = %d, want 201", st)
		}
		if got := aws.ToString(live.AliasArn); got != fnARNPrefix+"al:live" {
			t.Errorf("AliasArn = %q", got)
		}
		if aws.ToString(live.Name) != "live" || aws.ToString(live.FunctionVersion) != "1" {
			t.Errorf("Name/FunctionVersion = %q/%q", aws.ToString(live.Name), aws.ToString(live.FunctionVersion))
		}
		if live.Description == nil || *live.Description != "" {
			t.Errorf("Description = %v, want present and empty", live.Description)
		}
		if aws.ToString(live.RevisionId) == "" {
			t.Error("no RevisionId")
		}
		if live.RoutingConfig != nil {
			t.Errorf("RoutingConfig = %+v, want none", live.RoutingConfig)
		}
		st, body := signedRaw(t, e, http.MethodGet, "/2015-03-31/functions/al/aliases/live")
		m := jsonObject(t, body)
		if st != http.StatusOK {
			t.Fatalf("GET alias: %d %s", st, body)
		}
		if _, ok := m["RoutingConfig"]; ok {
			t.Errorf("GetAlias body has RoutingConfig: %s", body)
		}
		if d, ok := m["Description"]; !ok || d != "" {
			t.Errorf("GetAlias body Description = %v (present %v), want \"\"", d, ok)
		}
	})
	t.Run("$LATEST unchanged", func(t *testing.T) {
		if got := configOrFail(t, e, "al", ""); aws.ToString(got.RevisionId) != aws.ToString(latestBefore.RevisionId) {
			t.Errorf("CreateAlias changed the RevisionId of $LATEST: %q -> %q", aws.ToString(latestBefore.RevisionId), aws.ToString(got.RevisionId))
		}
	})
	t.Run("to $LATEST", func(t *testing.T) {
		out, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("dev"), FunctionVersion: aws.String("$LATEST"), Description: aws.String("tip")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionVersion) != "$LATEST" || aws.ToString(out.Description) != "tip" || aws.ToString(out.AliasArn) != fnARNPrefix+"al:dev" {
			t.Errorf("alias dev = %q %q %q", aws.ToString(out.FunctionVersion), aws.ToString(out.Description), aws.ToString(out.AliasArn))
		}
	})
	t.Run("with routing", func(t *testing.T) {
		out, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String(fnARNPrefix + "al"), Name: aws.String("canary"), FunctionVersion: aws.String("1"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if w := routingWeights(out.RoutingConfig); !maps.Equal(w, map[string]float64{"2": 0.25}) {
			t.Errorf("RoutingConfig = %v", w)
		}
	})
	t.Run("empty routing", func(t *testing.T) {
		out, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String("al"), Name: aws.String("plain"), FunctionVersion: aws.String("2"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.RoutingConfig != nil {
			t.Errorf("RoutingConfig = %+v, want omitted", out.RoutingConfig)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		_, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("live"), FunctionVersion: aws.String("2")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "Alias already exists: "+fnARNPrefix+"al:live")
		a, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("al"), Name: aws.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(a.FunctionVersion) != "1" || aws.ToString(a.RevisionId) != aws.ToString(live.RevisionId) {
			t.Errorf("the duplicate changed alias live: %q %q", aws.ToString(a.FunctionVersion), aws.ToString(a.RevisionId))
		}
	})

	long := strings.Repeat("a", 129)
	errs := []struct {
		name    string
		fn      string
		alias   string
		version string
		routing map[string]float64
		status  int
		code    string
		msg     string
	}{
		{"all digits", "al", "123", "1", nil, 400, "ValidationException", aliasPatternMessage("123")},
		{"bad character", "al", "bad!", "1", nil, 400, "ValidationException", aliasPatternMessage("bad!")},
		{"129 characters", "al", long, "1", nil, 400, "ValidationException", "1 validation error detected: Value '" + long + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"missing version", "al", "x", "10", nil, 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "al:10"},
		{"missing function", "al-unknown", "custom", "1", map[string]float64{"2": 0.5}, 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "al-unknown:1"},
		{"two routing entries", "al", "x", "1", map[string]float64{"2": 0.1, "3": 0.1}, 400, "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1"},
		{"weight 1.5", "al", "x", "1", map[string]float64{"2": 1.5}, 400, "ValidationException", weightRangeMessage("{2=1.5}")},
		{"weight -1", "al", "x", "1", map[string]float64{"2": -1}, 400, "ValidationException", weightRangeMessage("{2=-1.0}")},
		{"routing to the primary", "al", "x", "1", map[string]float64{"1": 0.5}, 400, "InvalidParameterValueException", "Invalid function version 1. Function version 1 is already included in routing configuration."},
		{"primary $LATEST with routing", "al", "x", "$LATEST", map[string]float64{"1": 0.5}, 400, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version"},
		{"routing to $LATEST", "al", "x", "1", map[string]float64{"$LATEST": 0.5}, 400, "ValidationException", weightKeyMessage("{$LATEST=0.5}")},
		{"routing to a missing version", "al", "x", "1", map[string]float64{"10": 0.5}, 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "al:10"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			in := &lambda.CreateAliasInput{FunctionName: aws.String(tt.fn), Name: aws.String(tt.alias), FunctionVersion: aws.String(tt.version)}
			if tt.routing != nil {
				in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: tt.routing}
			}
			_, err := e.client.CreateAlias(ctx, in)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}

	out, err := e.client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("al")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range out.Aliases {
		names = append(names, aws.ToString(a.Name))
	}
	if want := []string{"canary", "dev", "live", "plain"}; !slices.Equal(names, want) {
		t.Errorf("aliases after the failures = %q, want %q", names, want)
	}
}

func TestAliasGet(t *testing.T) {
	e := newAliasEnv(t, "ga")
	ctx := context.Background()
	created := createAliasOrFail(t, e, &lambda.CreateAliasInput{
		FunctionName: aws.String("ga"), Name: aws.String("prod"), FunctionVersion: aws.String("2"), Description: aws.String("production"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"3": 0.1}},
	})
	for _, fn := range []string{"ga", fnARNPrefix + "ga", "123456789012:function:ga"} {
		t.Run(fn, func(t *testing.T) {
			a, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String("prod")})
			if err != nil {
				t.Fatal(err)
			}
			if st := successStatus(t, a.ResultMetadata); st != http.StatusOK {
				t.Errorf("status = %d", st)
			}
			if aws.ToString(a.AliasArn) != fnARNPrefix+"ga:prod" || aws.ToString(a.Name) != "prod" || aws.ToString(a.FunctionVersion) != "2" ||
				aws.ToString(a.Description) != "production" || aws.ToString(a.RevisionId) != aws.ToString(created.RevisionId) {
				t.Errorf("GetAlias = %q %q %q %q %q", aws.ToString(a.AliasArn), aws.ToString(a.Name), aws.ToString(a.FunctionVersion), aws.ToString(a.Description), aws.ToString(a.RevisionId))
			}
			if w := routingWeights(a.RoutingConfig); !maps.Equal(w, map[string]float64{"3": 0.1}) {
				t.Errorf("RoutingConfig = %v", w)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("ga"), Name: aws.String("nope")})
		wantLambdaFailure(t, err, 404, "ResourceNotFoundException", "Cannot find alias arn: "+fnARNPrefix+"ga:nope")
	})
	t.Run("bad name", func(t *testing.T) {
		_, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("ga"), Name: aws.String("123")})
		wantLambdaFailure(t, err, 400, "ValidationException", aliasPatternMessage("123"))
	})
}

func TestAliasUpdate(t *testing.T) {
	e := newAliasEnv(t, "ua")
	ctx := context.Background()
	created := createAliasOrFail(t, e, &lambda.CreateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), FunctionVersion: aws.String("1"), Description: aws.String("d1")})
	rev := aws.ToString(created.RevisionId)

	get := func(t *testing.T) *lambda.GetAliasOutput {
		t.Helper()
		a, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	update := func(t *testing.T, in *lambda.UpdateAliasInput) *lambda.UpdateAliasOutput {
		t.Helper()
		in.FunctionName, in.Name = aws.String("ua"), aws.String("live")
		out, err := e.client.UpdateAlias(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if st := successStatus(t, out.ResultMetadata); st != http.StatusOK {
			t.Errorf("status = %d, want 200", st)
		}
		if r := aws.ToString(out.RevisionId); r == "" || r == rev {
			t.Errorf("RevisionId = %q, want a new one (was %q)", r, rev)
		}
		if a := get(t); aws.ToString(a.RevisionId) != aws.ToString(out.RevisionId) {
			t.Errorf("GetAlias RevisionId = %q, update said %q", aws.ToString(a.RevisionId), aws.ToString(out.RevisionId))
		}
		rev = aws.ToString(out.RevisionId)
		return out
	}

	t.Run("change version", func(t *testing.T) {
		out := update(t, &lambda.UpdateAliasInput{FunctionVersion: aws.String("2")})
		if aws.ToString(out.FunctionVersion) != "2" || aws.ToString(out.Description) != "d1" {
			t.Errorf("after update: version %q description %q, want 2 and the old description", aws.ToString(out.FunctionVersion), aws.ToString(out.Description))
		}
		if c := configOrFail(t, e, "ua", "live"); aws.ToString(c.Version) != "2" || aws.ToInt32(c.Timeout) != 11 {
			t.Errorf("GetFunctionConfiguration(live) = version %q timeout %d, want version 2", aws.ToString(c.Version), aws.ToInt32(c.Timeout))
		}
	})
	t.Run("add routing", func(t *testing.T) {
		out := update(t, &lambda.UpdateAliasInput{RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"3": 0.3}}})
		if w := routingWeights(out.RoutingConfig); !maps.Equal(w, map[string]float64{"3": 0.3}) {
			t.Errorf("RoutingConfig = %v", w)
		}
		if w := routingWeights(get(t).RoutingConfig); !maps.Equal(w, map[string]float64{"3": 0.3}) {
			t.Errorf("stored RoutingConfig = %v", w)
		}
	})
	t.Run("description keeps routing", func(t *testing.T) {
		out := update(t, &lambda.UpdateAliasInput{Description: aws.String("d2"), RevisionId: aws.String(rev)})
		if aws.ToString(out.Description) != "d2" || aws.ToString(out.FunctionVersion) != "2" || !maps.Equal(routingWeights(out.RoutingConfig), map[string]float64{"3": 0.3}) {
			t.Errorf("after description update: %q %q %v", aws.ToString(out.Description), aws.ToString(out.FunctionVersion), routingWeights(out.RoutingConfig))
		}
	})
	t.Run("remove routing", func(t *testing.T) {
		out := update(t, &lambda.UpdateAliasInput{RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}})
		if out.RoutingConfig != nil {
			t.Errorf("RoutingConfig = %+v, want removed", out.RoutingConfig)
		}
		if a := get(t); a.RoutingConfig != nil {
			t.Errorf("stored RoutingConfig = %+v, want removed", a.RoutingConfig)
		}
	})

	errs := []struct {
		name   string
		in     *lambda.UpdateAliasInput
		status int
		code   string
		msg    string
	}{
		{"revision mismatch", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), FunctionVersion: aws.String("3"), RevisionId: aws.String("00000000-0000-0000-0000-000000000000")},
			412, "PreconditionFailedException", msgRevisionMismatch},
		{"missing alias", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("ghost"), FunctionVersion: aws.String("1")},
			404, "ResourceNotFoundException", "Alias not found: " + fnARNPrefix + "ua:ghost"},
		{"missing version", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), FunctionVersion: aws.String("10")},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ua:10"},
		{"routing to a missing version", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"10": 0.5}}},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ua:10"},
		{"weight 1.5", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"3": 1.5}}},
			400, "ValidationException", weightRangeMessage("{3=1.5}")},
		{"routing to the primary", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}}},
			400, "InvalidParameterValueException", "Invalid function version 2. Function version 2 is already included in routing configuration."},
		{"primary $LATEST with routing", &lambda.UpdateAliasInput{FunctionName: aws.String("ua"), Name: aws.String("live"), FunctionVersion: aws.String("$LATEST"), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.5}}},
			400, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateAlias(ctx, tt.in)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
	if a := get(t); aws.ToString(a.RevisionId) != rev || aws.ToString(a.FunctionVersion) != "2" || a.RoutingConfig != nil {
		t.Errorf("failed updates changed the alias: %q %q %+v", aws.ToString(a.RevisionId), aws.ToString(a.FunctionVersion), a.RoutingConfig)
	}
}

func TestAliasDelete(t *testing.T) {
	e := newAliasEnv(t, "da")
	ctx := context.Background()
	createAliasOrFail(t, e, &lambda.CreateAliasInput{FunctionName: aws.String("da"), Name: aws.String("live"), FunctionVersion: aws.String("1")})

	out, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("da"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	if st := successStatus(t, out.ResultMetadata); st != http.StatusNoContent {
		t.Errorf("status = %d, want 204", st)
	}
	_, err = e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("da"), Name: aws.String("live")})
	wantLambdaFailure(t, err, 404, "ResourceNotFoundException", "Cannot find alias arn: "+fnARNPrefix+"da:live")
	_, err = e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("da"), Qualifier: aws.String("live")})
	wantLambdaFailure(t, err, 404, "ResourceNotFoundException", "Function not found: "+fnARNPrefix+"da:live")

	t.Run("missing alias", func(t *testing.T) {
		out, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("da"), Name: aws.String("live")})
		if err != nil {
			t.Fatalf("deleting a missing alias: %v, want 204", err)
		}
		if st := successStatus(t, out.ResultMetadata); st != http.StatusNoContent {
			t.Errorf("status = %d, want 204", st)
		}
	})
	t.Run("name can be reused", func(t *testing.T) {
		a := createAliasOrFail(t, e, &lambda.CreateAliasInput{FunctionName: aws.String("da"), Name: aws.String("live"), FunctionVersion: aws.String("3")})
		if aws.ToString(a.FunctionVersion) != "3" {
			t.Errorf("FunctionVersion = %q", aws.ToString(a.FunctionVersion))
		}
	})
}

func TestAliasList(t *testing.T) {
	e := newAliasEnv(t, "la")
	ctx := context.Background()
	created := map[string]*lambda.CreateAliasOutput{}
	for _, a := range []struct {
		name, version string
		routing       map[string]float64
	}{
		{"charlie", "1", nil},
		{"alpha", "2", nil},
		{"bravo", "1", map[string]float64{"3": 0.2}},
		{"delta", "$LATEST", nil},
		{"echo", "3", nil},
	} {
		in := &lambda.CreateAliasInput{FunctionName: aws.String("la"), Name: aws.String(a.name), FunctionVersion: aws.String(a.version)}
		if a.routing != nil {
			in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: a.routing}
		}
		created[a.name] = createAliasOrFail(t, e, in)
	}

	list := func(t *testing.T, version string, maxItems int32) (names []string, pages int) {
		t.Helper()
		var marker *string
		for ; ; pages++ {
			if pages > 10 {
				t.Fatalf("no end after %d pages: %q", pages, names)
			}
			in := &lambda.ListAliasesInput{FunctionName: aws.String("la"), Marker: marker}
			if version != "" {
				in.FunctionVersion = aws.String(version)
			}
			if maxItems > 0 {
				in.MaxItems = aws.Int32(maxItems)
			}
			out, err := e.client.ListAliases(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if maxItems > 0 && len(out.Aliases) > int(maxItems) {
				t.Errorf("page of %d aliases, MaxItems %d", len(out.Aliases), maxItems)
			}
			for _, a := range out.Aliases {
				n := aws.ToString(a.Name)
				names = append(names, n)
				c := created[n]
				if c == nil {
					t.Errorf("unknown alias %q listed", n)
					continue
				}
				if aws.ToString(a.AliasArn) != fnARNPrefix+"la:"+n || aws.ToString(a.FunctionVersion) != aws.ToString(c.FunctionVersion) ||
					aws.ToString(a.RevisionId) != aws.ToString(c.RevisionId) || !maps.Equal(routingWeights(a.RoutingConfig), routingWeights(c.RoutingConfig)) {
					t.Errorf("listed %s = %q %q %q %v, want as created", n, aws.ToString(a.AliasArn), aws.ToString(a.FunctionVersion), aws.ToString(a.RevisionId), routingWeights(a.RoutingConfig))
				}
			}
			if out.NextMarker == nil {
				return names, pages + 1
			}
			marker = out.NextMarker
		}
	}

	t.Run("all in name order", func(t *testing.T) {
		got, _ := list(t, "", 0)
		if want := []string{"alpha", "bravo", "charlie", "delta", "echo"}; !slices.Equal(got, want) {
			t.Errorf("aliases = %q, want %q", got, want)
		}
	})
	for _, tt := range []struct {
		version string
		want    []string
	}{
		{"1", []string{"bravo", "charlie"}},
		{"2", []string{"alpha"}},
		{"3", []string{"bravo", "echo"}}, // bravo routes a share to 3
		{"$LATEST", []string{"delta"}},
		{"9", nil},
	} {
		t.Run("FunctionVersion "+tt.version, func(t *testing.T) {
			got, _ := list(t, tt.version, 0)
			if !slices.Equal(got, tt.want) {
				t.Errorf("aliases of version %s = %q, want %q", tt.version, got, tt.want)
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		for _, size := range []int32{1, 2, 5} {
			got, pages := list(t, "", size)
			if want := []string{"alpha", "bravo", "charlie", "delta", "echo"}; !slices.Equal(got, want) {
				t.Errorf("MaxItems %d: aliases = %q, want each of %q once", size, got, want)
			}
			if wantPages := (5 + int(size) - 1) / int(size); pages != wantPages {
				t.Errorf("MaxItems %d: %d pages, want %d", size, pages, wantPages)
			}
		}
	})
	t.Run("paging filtered", func(t *testing.T) {
		got, pages := list(t, "3", 1)
		if !slices.Equal(got, []string{"bravo", "echo"}) || pages != 2 {
			t.Errorf("aliases of version 3 by 1 = %q in %d pages", got, pages)
		}
	})

	errs := []struct {
		name   string
		in     *lambda.ListAliasesInput
		status int
		code   string
		msg    string
	}{
		{"MaxItems 0", &lambda.ListAliasesInput{FunctionName: aws.String("la"), MaxItems: aws.Int32(0)},
			400, "ValidationException", "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"bad FunctionVersion", &lambda.ListAliasesInput{FunctionName: aws.String("la"), FunctionVersion: aws.String("live")},
			400, "ValidationException", "1 validation error detected: Value 'live' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"},
		{"missing function", &lambda.ListAliasesInput{FunctionName: aws.String("ghost")},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ListAliases(ctx, tt.in)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
}
