// Handler esm.handler: an ES module whose import fails at init.
import missing from "sluice-no-such-package";

export const handler = async () => missing;
