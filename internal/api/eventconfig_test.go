package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
)

const fnARNPrefixEIC = "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:"

// eicView is what a FunctionEventInvokeConfig answer says, comparable.
type eicView struct {
	arn                  string
	retries, age         int32 // -1: absent
	onSuccess, onFailure string
}

func viewOf(t *testing.T, arn *string, modified *time.Time, retries, age *int32, d *types.DestinationConfig) eicView {
	t.Helper()
	v := eicView{arn: aws.ToString(arn), retries: -1, age: -1}
	if retries != nil {
		v.retries = *retries
	}
	if age != nil {
		v.age = *age
	}
	// AWS always answers both destinations, {} when none.
	if d == nil || d.OnSuccess == nil || d.OnFailure == nil {
		t.Errorf("%s: DestinationConfig %+v, want OnSuccess and OnFailure", v.arn, d)
	} else {
		v.onSuccess, v.onFailure = aws.ToString(d.OnSuccess.Destination), aws.ToString(d.OnFailure.Destination)
	}
	if modified == nil || time.Since(*modified) > time.Minute || time.Until(*modified) > time.Minute {
		t.Errorf("%s: LastModified %v, want about now", v.arn, modified)
	}
	return v
}

func putView(t *testing.T, out *lambda.PutFunctionEventInvokeConfigOutput, err error) eicView {
	t.Helper()
	if err != nil {
		t.Fatalf("PutFunctionEventInvokeConfig: %v", err)
	}
	return viewOf(t, out.FunctionArn, out.LastModified, out.MaximumRetryAttempts, out.MaximumEventAgeInSeconds, out.DestinationConfig)
}

func wantView(t *testing.T, what string, got, want eicView) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func TestEventInvokeConfigLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("ev")
	e.create("dst")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("ev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("ev"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	latestARN, v1ARN, liveARN := fnARNPrefixEIC+"ev:$LATEST", fnARNPrefixEIC+"ev:1", fnARNPrefixEIC+"ev:live"
	dst, dstLatest := fnARNPrefixEIC+"dst", fnARNPrefixEIC+"dst:$LATEST"

	// Put answers only what was set, and replaces the whole configuration.
	out, err := e.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(0)})
	wantView(t, "Put retries 0", putView(t, out, err), eicView{latestARN, 0, -1, "", ""})
	out, err = e.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumEventAgeInSeconds: aws.Int32(60)})
	wantView(t, "Put age 60", putView(t, out, err), eicView{latestARN, -1, 60, "", ""})

	// Update changes only the members given; DestinationConfig replaces
	// both destinations.
	up, err := e.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(dst)}, OnFailure: &types.OnFailure{Destination: aws.String(dstLatest)}}})
	if err != nil {
		t.Fatal(err)
	}
	wantView(t, "Update", viewOf(t, up.FunctionArn, up.LastModified, up.MaximumRetryAttempts, up.MaximumEventAgeInSeconds, up.DestinationConfig),
		eicView{latestARN, 1, 60, dst, dstLatest})
	up, err = e.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dst)}}})
	if err != nil {
		t.Fatal(err)
	}
	wantLatest := eicView{latestARN, 1, 60, "", dst}
	wantView(t, "Update of the destinations", viewOf(t, up.FunctionArn, up.LastModified, up.MaximumRetryAttempts, up.MaximumEventAgeInSeconds, up.DestinationConfig), wantLatest)

	get := func(name, qualifier string) (eicView, error) {
		t.Helper()
		in := &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		out, err := e.client.GetFunctionEventInvokeConfig(ctx, in)
		if err != nil {
			return eicView{}, err
		}
		return viewOf(t, out.FunctionArn, out.LastModified, out.MaximumRetryAttempts, out.MaximumEventAgeInSeconds, out.DestinationConfig), nil
	}
	for _, q := range []string{"", "$LATEST"} {
		got, err := get("ev", q)
		if err != nil {
			t.Fatal(err)
		}
		wantView(t, "Get "+q, got, wantLatest)
	}
	if _, err := get("ev", "1"); err != nil {
		wantAPIError(t, err, "ResourceNotFoundException", "The function "+v1ARN+" doesn't have an EventInvokeConfig")
	} else {
		t.Error("a published version has $LATEST's configuration")
	}

	// A version and an alias, named every way.
	out, err = e.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev:1"), MaximumEventAgeInSeconds: aws.Int32(120)})
	wantView(t, "Put version", putView(t, out, err), eicView{v1ARN, -1, 120, "", ""})
	out, err = e.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(liveARN), Qualifier: aws.String("live"),
		MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(21600),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(dst)}}})
	wantView(t, "Put alias", putView(t, out, err), eicView{liveARN, 2, 21600, dst, ""})

	// The dispatcher's view: an alias's own, else the version's.
	wantCfg := func(qualifier string, wantOK bool, wantRetries, wantAge int) {
		t.Helper()
		c, ok, err := e.svc.EventInvokeConfig(ctx, sluice.FunctionRef{Name: "ev"}, qualifier)
		if err != nil || ok != wantOK || c.RetryAttempts() != wantRetries || c.MaxAge() != time.Duration(wantAge)*time.Second {
			t.Errorf("EventInvokeConfig(ev, %q) = retries %d, age %v, %v, %v; want %d, %ds, %v", qualifier, c.RetryAttempts(), c.MaxAge(), ok, err, wantRetries, wantAge, wantOK)
		}
	}
	wantCfg("", true, 1, 60)
	wantCfg("$LATEST", true, 1, 60)
	wantCfg("1", true, 2, 120) // retries unset: the default
	wantCfg("live", true, 2, 21600)
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("ev"), Name: aws.String("plain"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	wantCfg("plain", false, sluice.DefaultRetryAttempts, sluice.DefaultEventAge) // an alias without one: none, not its version's
	if _, _, err := e.svc.EventInvokeConfig(ctx, sluice.FunctionRef{Name: "ev"}, "gone"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("EventInvokeConfig of a missing alias: %v, want not found", err)
	}

	// List: $LATEST, versions, aliases; paged.
	list, err := e.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev")})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, c := range list.FunctionEventInvokeConfigs {
		arns = append(arns, aws.ToString(c.FunctionArn))
	}
	if strings.Join(arns, " ") != latestARN+" "+v1ARN+" "+liveARN || list.NextMarker != nil {
		t.Errorf("List = %q, next %v", arns, list.NextMarker)
	}
	p := lambda.NewListFunctionEventInvokeConfigsPaginator(e.client, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev"), MaxItems: aws.Int32(1)})
	var paged []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.FunctionEventInvokeConfigs) != 1 {
			t.Fatalf("a page of MaxItems 1 has %d items", len(page.FunctionEventInvokeConfigs))
		}
		paged = append(paged, aws.ToString(page.FunctionEventInvokeConfigs[0].FunctionArn))
	}
	if strings.Join(paged, " ") != strings.Join(arns, " ") {
		t.Errorf("pages = %q, want %q", paged, arns)
	}

	// Delete; and configurations go with their version, alias, function.
	if _, err := e.client.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), Qualifier: aws.String("1")})
	wantAPIError(t, err, "ResourceNotFoundException", "The function "+v1ARN+" doesn't have an EventInvokeConfig")
	if _, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("ev"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("ev"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = get("ev", "live")
	wantAPIError(t, err, "ResourceNotFoundException", "The function "+liveARN+" doesn't have an EventInvokeConfig")
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("ev")}); err != nil {
		t.Fatal(err)
	}
	e.create("ev")
	list, err = e.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 0 {
		t.Errorf("List of a function created again = %d configurations, %v", len(list.FunctionEventInvokeConfigs), err)
	}
}

func TestEventInvokeConfigErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("ev")
	e.create("dst")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("ev")}); err != nil {
		t.Fatal(err)
	}
	dest := func(onSuccess, onFailure string) *types.DestinationConfig {
		d := &types.DestinationConfig{}
		if onSuccess != "" {
			d.OnSuccess = &types.OnSuccess{Destination: aws.String(onSuccess)}
		}
		if onFailure != "" {
			d.OnFailure = &types.OnFailure{Destination: aws.String(onFailure)}
		}
		return d
	}
	const noFunction = "The function doesn't exist."
	evARN := fnARNPrefixEIC + "ev"
	long := "arn:aws:lambda:us-east-1:" + testAccount + ":function:" + strings.Repeat("a", 320)
	for _, c := range []struct {
		name       string
		in         lambda.PutFunctionEventInvokeConfigInput
		code, want string
	}{
		{"nothing to set", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("nope")},
			"InvalidParameterValueException", "You must specify at least one of error handling or destination setting."},
		{"missing function", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("nope"), MaximumRetryAttempts: aws.Int32(1)}, "ResourceNotFoundException", noFunction},
		{"missing function ARN", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(fnARNPrefixEIC + "nope"), MaximumRetryAttempts: aws.Int32(1)}, "ResourceNotFoundException", noFunction},
		{"missing alias", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), Qualifier: aws.String("nope"), MaximumRetryAttempts: aws.Int32(1)}, "ResourceNotFoundException", noFunction},
		{"missing version", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev:7"), MaximumRetryAttempts: aws.Int32(1)}, "ResourceNotFoundException", noFunction},
		{"qualifiers differ", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev:1"), Qualifier: aws.String("$LATEST"), MaximumRetryAttempts: aws.Int32(1)},
			"InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"other region", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:" + testAccount + ":function:ev"), MaximumRetryAttempts: aws.Int32(1)},
			"ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"retries over", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(3)},
			"ValidationException", "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
		{"retries under", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(-1)},
			"ValidationException", "1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"age under", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumEventAgeInSeconds: aws.Int32(59)},
			"ValidationException", "1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"},
		{"age over", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumEventAgeInSeconds: aws.Int32(21601)},
			"ValidationException", "1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"},
		{"destination pattern", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("", "arn:aws:_-/!lambda:us-east-1:"+testAccount+":function:dst")},
			"ValidationException", "1 validation error detected: Value 'arn:aws:_-/!lambda:us-east-1:" + testAccount + ":function:dst' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ..."},
		{"destination length", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest(long, "")},
			"ValidationException", "1 validation error detected: Value '" + long + "' at 'destinationConfig.onSuccess.destination' failed to satisfy constraint: Member must have length less than or equal to 350"},
		{"missing destination function", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest(fnARNPrefixEIC+"nope", "")},
			"InvalidParameterValueException", "The destination ARN " + fnARNPrefixEIC + "nope is invalid."},
		{"missing destination alias", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("", fnARNPrefixEIC+"dst:nope")},
			"InvalidParameterValueException", "The destination ARN " + fnARNPrefixEIC + "dst:nope is invalid."},
		{"itself", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest(evARN, "")},
			"InvalidParameterValueException", "You can't specify the function as a destination for itself."},
		{"itself qualified", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("", evARN+":1")},
			"InvalidParameterValueException", "You can't specify the function as a destination for itself."},
		{"destination in another account", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("arn:aws:lambda:us-east-1:111122223333:function:dst", "")},
			"InvalidParameterValueException", "The destination ARN arn:aws:lambda:us-east-1:111122223333:function:dst is invalid: sluice delivers only to functions of the region and account the function is in (us-east-1, 123456789012)."},
		{"other service", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("arn:aws:iam:us-east-1:"+testAccount+":function:ev", "")},
			"InvalidParameterValueException", "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:iam:us-east-1:" + testAccount + ":function:ev), onFailure=null) is invalid."},
		{"SQS", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("", "arn:aws:sqs:us-east-1:"+testAccount+":dlq")},
			"InvalidParameterValueException", "The destination ARN arn:aws:sqs:us-east-1:" + testAccount + ":dlq is not supported: sluice does not deliver to Amazon SQS, it runs Lambda functions only. Use the ARN of a Lambda function as the destination."},
		{"SNS", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("arn:aws:sns:us-east-1:"+testAccount+":topic", "")},
			"InvalidParameterValueException", "The destination ARN arn:aws:sns:us-east-1:" + testAccount + ":topic is not supported: sluice does not deliver to Amazon SNS..."},
		{"EventBridge", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("arn:aws:events:us-east-1:"+testAccount+":event-bus/default", "")},
			"InvalidParameterValueException", "The destination ARN arn:aws:events:us-east-1:" + testAccount + ":event-bus/default is not supported: sluice does not deliver to Amazon EventBridge..."},
		{"S3", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("", "arn:aws:s3:::bucket")},
			"InvalidParameterValueException", "The destination ARN arn:aws:s3:::bucket is not supported: sluice does not deliver to Amazon S3..."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.client.PutFunctionEventInvokeConfig(ctx, &c.in)
			wantAPIError(t, err, c.code, c.want)
			u := lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: c.in.FunctionName, Qualifier: c.in.Qualifier,
				MaximumRetryAttempts: c.in.MaximumRetryAttempts, MaximumEventAgeInSeconds: c.in.MaximumEventAgeInSeconds, DestinationConfig: c.in.DestinationConfig}
			if c.code != "InvalidParameterValueException" || !strings.HasPrefix(c.want, "The destination") && !strings.HasPrefix(c.want, "The provided") && !strings.HasPrefix(c.want, "You can't") {
				// Update checks the same, but a destination only of a
				// configuration that exists (checked below).
				_, err = e.client.UpdateFunctionEventInvokeConfig(ctx, &u)
				wantAPIError(t, err, c.code, c.want)
			}
		})
	}
	// Nothing was stored by the failures.
	_, err := e.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("ev")})
	wantAPIError(t, err, "ResourceNotFoundException", "The function "+evARN+":$LATEST doesn't have an EventInvokeConfig")
	_, err = e.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(0)})
	wantAPIError(t, err, "ResourceNotFoundException", "The function "+evARN+":$LATEST doesn't have an EventInvokeConfig")
	if _, err := e.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), DestinationConfig: dest("arn:aws:sqs:us-east-1:"+testAccount+":q", "")})
	wantAPIError(t, err, "InvalidParameterValueException", "The destination ARN arn:aws:sqs:us-east-1:"+testAccount+":q is not supported: sluice does not deliver to Amazon SQS...")

	// Get and Delete answer for what does not exist that it has no
	// configuration; List that the function does not exist.
	for _, c := range []struct{ name, qualifier, arn string }{
		{"nope", "", fnARNPrefixEIC + "nope:$LATEST"},
		{"ev", "1221", evARN + ":1221"},
		{"ev", "nope", evARN + ":nope"},
		{"ev", "1", evARN + ":1"},
	} {
		in := &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(c.name)}
		del := &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String(c.name)}
		if c.qualifier != "" {
			in.Qualifier, del.Qualifier = aws.String(c.qualifier), aws.String(c.qualifier)
		}
		_, err := e.client.GetFunctionEventInvokeConfig(ctx, in)
		wantAPIError(t, err, "ResourceNotFoundException", "The function "+c.arn+" doesn't have an EventInvokeConfig")
		_, err = e.client.DeleteFunctionEventInvokeConfig(ctx, del)
		wantAPIError(t, err, "ResourceNotFoundException", "The function "+c.arn+" doesn't have an EventInvokeConfig")
	}
	_, err = e.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", noFunction)
	_, err = e.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev"), MaxItems: aws.Int32(51)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50")
	_, err = e.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev"), Marker: aws.String("!!")})
	wantAPIError(t, err, "InvalidParameterValueException", "Invalid Marker: !!...")

	// A malformed body is refused before anything else.
	resp, body := e.signedRequest("PUT", "/2019-09-25/functions/ev/event-invoke-config", []byte(`{"MaximumRetryAttempts": "two"}`), nil)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "InvalidRequestContentException" {
		t.Errorf("malformed body: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body)
	}
}

func TestDeadLetterConfigRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const want = "The DeadLetterConfig target arn:aws:sqs:us-east-1:123456789012:dlq is not supported: sluice does not deliver to Amazon SQS or Amazon SNS, it runs Lambda functions only. Send failed events to a Lambda function with PutFunctionEventInvokeConfig's DestinationConfig OnFailure instead."
	in := createInput(t, "dlq")
	in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")}
	_, err := e.client.CreateFunction(ctx, in)
	wantAPIError(t, err, "InvalidParameterValueException", want)
	if _, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("dlq")}); err == nil {
		t.Fatal("a refused CreateFunction created the function")
	}
	in.DeadLetterConfig.TargetArn = aws.String("not an arn")
	_, err = e.client.CreateFunction(ctx, in)
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'not an arn' at 'deadLetterConfig.targetArn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")
	// An empty TargetArn (AWS's way to remove a dead-letter queue) or
	// none: there is nothing to refuse.
	in.DeadLetterConfig.TargetArn = aws.String("")
	if _, err := e.client.CreateFunction(ctx, in); err != nil {
		t.Fatalf("CreateFunction with an empty DeadLetterConfig: %v", err)
	}
	e.waitActive("dlq")
	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("dlq"),
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")}})
	wantAPIError(t, err, "InvalidParameterValueException", want)
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("dlq"), DeadLetterConfig: &types.DeadLetterConfig{}}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration with an empty DeadLetterConfig: %v", err)
	}
}
