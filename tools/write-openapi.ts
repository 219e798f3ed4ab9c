// Writes docs/openapi.json from the route table (run after adding or changing a route: `npm run openapi`).

import { writeFile } from "node:fs/promises";
import { openApiText } from "#shared/http/openapi.ts";
import { loadRouteTable } from "#shared/http/route-table.ts";

const table = await loadRouteTable();
await writeFile(new URL("../docs/openapi.json", import.meta.url), openApiText(table.routes));
