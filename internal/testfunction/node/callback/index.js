// A CommonJS handler in callback style.
//   {"fail":true}  calls back with an Error
exports.handler = (event, context, callback) => {
  console.log("callback handler for", context.awsRequestId);
  if (event.fail) {
    callback(new Error("callback failed"));
    return;
  }
  setTimeout(() => callback(null, { style: "callback", requestId: context.awsRequestId, event }), 10);
};
