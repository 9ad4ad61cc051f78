import { serverEnv } from "../../../../../server/env.ts";
import { platform } from "../../../../../server/platform.ts";
import { typeLibrariesResponse } from "./type-libraries-response.ts";

export async function GET(
  request: Request,
  context: { params: Promise<{ labId: string }> },
): Promise<Response> {
  const { labId } = await context.params;
  return typeLibrariesResponse(request, labId, platform().catalog.find(labId), serverEnv().labsDir);
}
