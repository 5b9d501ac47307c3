import type { ServiceName, SimService } from "../types.js";

/** A placeholder for a service whose job has not landed yet: it claims nothing. */
export function notImplementedService(name: ServiceName): SimService {
  return {
    name,
    classify: () => null,
    handle: () => ({ status: 501, body: { error: `${name} is not simulated yet` } }),
    faultResponse: () => ({ status: 500 }),
  };
}
