import { platform } from "../platform.ts";

/** A route handler whose latency and status go into backend_labs_http_request_duration_seconds. */
export function timedRoute<Args extends unknown[]>(
  route: string,
  method: string,
  handler: (...args: Args) => Promise<Response>,
): (...args: Args) => Promise<Response> {
  return async (...args) => {
    const end = platform().metrics.startRequest(route, method);
    try {
      const response = await handler(...args);
      end(response.status);
      return response;
    } catch (error) {
      end(500);
      throw error;
    }
  };
}
