#!/usr/bin/env node
// The `folio` command. A .js shim so npm can link it; the CLI itself is TypeScript that Node runs
// with type stripping (Node ≥ 22.18).
import '../src/cli/main.ts';
