// Handler src/app.handler: code in a subdirectory of the task root.
export const handler = async (event, context) => ({ nested: true, requestId: context.awsRequestId, event });
