import { backendLabsConfig } from "@backend-labs/eslint-config";

export default backendLabsConfig(import.meta.dirname);
