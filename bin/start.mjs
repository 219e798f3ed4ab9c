#!/usr/bin/env node
// `npm start`: runs the local host (TypeScript, through tsx's loader).
import { tsImport } from "tsx/esm/api";

await tsImport("../infra/local/main.ts", import.meta.url);
