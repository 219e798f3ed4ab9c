#!/usr/bin/env node
// `npx phigate`: the command-line client (TypeScript, through tsx's loader).
import { tsImport } from "tsx/esm/api";

await tsImport("../cli/main.ts", import.meta.url);
