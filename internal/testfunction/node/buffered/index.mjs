// A buffered async handler: echoes the event, the context fields and the
// runtime's environment, and logs one line.
export const handler = async (event, context) => {
  console.log("buffered handler got", JSON.stringify(event));
  return {
    event,
    context: {
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      awsRequestId: context.awsRequestId,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remainingTimeInMillis: context.getRemainingTimeInMillis(),
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
      clientContext: context.clientContext ?? null,
    },
    env: {
      NODE_PATH: process.env.NODE_PATH,
      AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV,
      LAMBDA_TASK_ROOT: process.env.LAMBDA_TASK_ROOT,
      _HANDLER: process.env._HANDLER,
      _X_AMZN_TRACE_ID: process.env._X_AMZN_TRACE_ID,
    },
    node: process.version,
    cwd: process.cwd(),
  };
};
