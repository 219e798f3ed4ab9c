// The CDK app entry (`cdk.json` runs it with tsx): builds the stack and synthesizes it.

import { createPhigateApp } from "#infra/cdk/phigate-app.ts";

(await createPhigateApp()).app.synth();
