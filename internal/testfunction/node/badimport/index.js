// Init fails: this package does not exist (Runtime.ImportModuleError).
const missing = require("sluice-no-such-package");

exports.handler = async () => missing.value;
