// A handler that throws.
//   {"message":"..."}  the error's message
export const handler = async (event) => {
  throw new TypeError(`handler failed: ${event.message ?? "boom"}`);
};
