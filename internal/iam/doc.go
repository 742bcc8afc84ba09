// Package iam owns sluice's identities and their authorization: IAM policy
// documents (a strict parser of AWS's JSON grammar, MarshalJSON, and the
// evaluation of identity-based and resource-based policies), the
// authenticated caller (Principal), Authorize with AWS's
// AccessDeniedException messages, the auth file (Directory: accounts,
// access keys, roles) and the development directory, and the Minter of
// execution roles' temporary credentials.
//
// Secrets (access keys' secrets, session tokens, the minter's key) never
// appear in error texts, fmt output or logs of this package's types.
//
// It imports only the standard library and the root package.
package iam
