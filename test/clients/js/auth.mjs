// Drives sluice's authentication and authorization with the AWS SDK for
// JavaScript v3 and prints one JSON object: the error name (or "ok STATUS")
// of each step; cmd/sluice TestAuthFileClients runs it against a server with
// an auth file. test/clients/python/auth.py does the same with boto3.
//
// usage: node auth.mjs ENDPOINT FUNCTION_ARN KEY_A SECRET_A KEY_B SECRET_B KEY_DENIED SECRET_DENIED ACCOUNT_B
import {
  LambdaClient,
  ListFunctionsCommand,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  AddPermissionCommand,
  RemovePermissionCommand,
  GetFunctionCommand,
} from "@aws-sdk/client-lambda";

const [endpoint, arn, ka, sa, kb, sb, kd, sd, accountB] = process.argv.slice(2);
const client = (key, secret) =>
  new LambdaClient({ endpoint, region: "us-east-1", maxAttempts: 1, credentials: { accessKeyId: key, secretAccessKey: secret } });
const a = client(ka, sa), b = client(kb, sb), d = client(kd, sd);

async function code(send) {
  try {
    const r = await send();
    if (r.EventStream) {
      for await (const _ of r.EventStream) {
      }
    }
    return "ok " + r.$metadata.httpStatusCode;
  } catch (e) {
    return e.name;
  }
}

const payload = new TextEncoder().encode("{}");
const out = {};
out["a list"] = await code(() => a.send(new ListFunctionsCommand({})));
out["wrong secret"] = await code(() => client(ka, "wrong").send(new ListFunctionsCommand({})));
out["unknown key"] = await code(() => client("AKIAUNKNOWNUNKNOWN00", "x").send(new ListFunctionsCommand({})));
out["b invoke before"] = await code(() => b.send(new InvokeCommand({ FunctionName: arn, Payload: payload })));
out["a add permission"] = await code(() =>
  a.send(new AddPermissionCommand({ FunctionName: arn, StatementId: "b", Action: "lambda:InvokeFunction", Principal: accountB })));
out["b invoke granted"] = await code(() => b.send(new InvokeCommand({ FunctionName: arn, Payload: payload })));
out["b dry run granted"] = await code(() => b.send(new InvokeCommand({ FunctionName: arn, InvocationType: "DryRun" })));
out["b stream granted"] = await code(() => b.send(new InvokeWithResponseStreamCommand({ FunctionName: arn, Payload: payload })));
out["a remove permission"] = await code(() => a.send(new RemovePermissionCommand({ FunctionName: arn, StatementId: "b" })));
out["b invoke removed"] = await code(() => b.send(new InvokeCommand({ FunctionName: arn, Payload: payload })));
out["denied invoke"] = await code(() => d.send(new InvokeCommand({ FunctionName: arn, Payload: payload })));
out["denied stream"] = await code(() => d.send(new InvokeWithResponseStreamCommand({ FunctionName: arn, Payload: payload })));
out["denied get"] = await code(() => d.send(new GetFunctionCommand({ FunctionName: arn })));
console.log(JSON.stringify(out));
