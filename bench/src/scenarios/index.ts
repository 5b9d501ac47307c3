import type { Scenario } from "../scenario.js";
import { scenarios as argSmall } from "./arg-small.js";
import { scenarios as argTenant } from "./arg-tenant.js";
import { scenarios as ec2Org } from "./ec2-org.js";
import { scenarios as graphPhotos } from "./graph-photos.js";
import { scenarios as ipsDiff } from "./ips-diff.js";
import { scenarios as ipsFind } from "./ips-find.js";
import { scenarios as leak } from "./leak.js";
import { scenarios as reportOpen } from "./report-open.js";
import { scenarios as zoomRecover } from "./zoom-recover.js";
import { scenarios as zoomRecoverPro } from "./zoom-recover-pro.js";

/** Every scenario, in SPEC section 8's order. Each file exports the scenarios it implements. */
export const SCENARIOS: Scenario[] = [
  ...ec2Org,
  ...argTenant,
  ...argSmall,
  ...graphPhotos,
  ...zoomRecover,
  ...zoomRecoverPro,
  ...ipsFind,
  ...ipsDiff,
  ...reportOpen,
  ...leak,
];
