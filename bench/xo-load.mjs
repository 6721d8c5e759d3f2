// Load benchmark for Xen Orchestra's XenAPI client (npm xen-api): connect,
// wait until its objects collection holds every class it watches (all the
// classes with get_all_records it found through system.listMethods, after
// event.inject), print the object count and exit. Timed by bench/core.py.
//   node xo-load.mjs URL [TRANSPORT]   (run with xen-api resolvable, e.g. from build/fidelity/xo)
// TRANSPORT is xen-api's own option: auto (its default: JSON-RPC on /jsonrpc,
// XML-RPC as the fallback), json-rpc or xml-rpc.
import { Xapi } from 'xen-api'

const [url, transport = 'auto'] = process.argv.slice(2)
const xapi = new Xapi({
  url,
  auth: { user: 'root', password: process.env.XAPI_PASSWORD ?? 'xapi-sim' },
  allowUnauthorized: true,
  transport,
})
const timeout = setTimeout(() => {
  console.error('xo-load: timed out')
  process.exit(1)
}, 300e3)
try {
  await xapi.connect()
  // resolved once every type's get_all_records has been added to the collection
  await xapi.objectsFetched
  const all = Object.values(xapi.objects.all)
  const nonEmpty = new Set(all.map(o => o.$type)).size
  // _types: the classes it fetched (found through system.listMethods)
  console.log(`objects ${all.length} classes ${xapi._types?.length ?? '?'} (${nonEmpty} non-empty)`)
} catch (error) {
  console.error('xo-load:', error?.stack ?? String(error))
  process.exit(1)
}
clearTimeout(timeout)
// its event loop would keep running: end here, without waiting for a logout
process.exit(0)
