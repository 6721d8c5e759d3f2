// Xen Orchestra's own XenAPI client (npm package xen-api) against xapi-sim.
// Run by xo-client.sh from the directory xen-api was installed into.
//   node xo-client.mjs URL COUNTS_SCRIPT TRANSPORT FIRST_TAP_NUMBER
// TRANSPORT is "default" (xen-api's auto: /jsonrpc, falling back to
// XML-RPC on /xmlrpc) or "xml-rpc". Prints TAP lines; exits 1 on a failure.
import { execFileSync } from 'node:child_process'
import { Xapi } from 'xen-api'

const [url, countsScript, transport, first] = process.argv.slice(2)
const label = transport === 'default' ? 'xen-api' : `xen-api (${transport})`
let n = Number(first) - 1
let failed = 0

function ok(cond, name, detail) {
  ++n
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${label}: ${name}`)
  if (!cond) {
    ++failed
    if (detail !== undefined) {
      console.log('# ' + String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 2000).replace(/\n/g, '\n# '))
    }
  }
  return cond
}

// xen-api reports trouble in its event loop (a failed event.from, a
// get_all_records that failed during the initial fetch) with console.warn
// and carries on: collect them, a clean run has none.
const warnings = []
console.warn = (...args) => warnings.push(args.map(a => (a instanceof Error ? a.stack : String(a))).join(' '))

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((resolve, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))])

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function countsByType(xapi) {
  const counts = {}
  for (const o of Object.values(xapi.objects.all)) {
    counts[o.$type] = (counts[o.$type] ?? 0) + 1
  }
  return counts
}

// what xapi-sim holds, read independently (Python's xmlrpc.client)
const simCounts = () => JSON.parse(execFileSync('python3', [countsScript, url], { encoding: 'utf8', timeout: 60e3 }))

async function main() {
  const xapi = new Xapi({
    url,
    auth: { user: 'root', password: 'xapi-sim' },
    allowUnauthorized: true,
    ...(transport === 'default' ? {} : { transport }),
  })
  try {
    await withTimeout(xapi.connect(), 30e3, 'connect')
    ok(xapi.status === 'connected' && xapi.pool?.$type === 'pool', 'connects (login, pool.get_all_records)')

    await withTimeout(xapi.objectsFetched, 60e3, 'objectsFetched')
    // every type it found through system.listMethods, each fetched with get_all_records
    let want = simCounts()
    let have = countsByType(xapi)
    const deadline = Date.now() + 10e3
    const same = () => Object.keys(want).every(t => (have[t] ?? 0) === want[t]) &&
      Object.keys(have).every(t => t in want)
    while (!same() && Date.now() < deadline) {
      await sleep(200)
      want = simCounts()
      have = countsByType(xapi)
    }
    const total = Object.values(want).reduce((a, b) => a + b, 0)
    ok(same(), `its objects collection holds every object the sim has (${total} in ${Object.keys(want).length} classes)`,
      Object.keys({ ...want, ...have }).filter(t => (want[t] ?? 0) !== (have[t] ?? 0)).map(t => `${t}: sim ${want[t]}, xen-api ${have[t]}`))

    const vm = Object.values(xapi.objects.all).find(
      o => o.$type === 'VM' && o.power_state === 'Halted' && !o.is_a_template && !o.is_control_domain && !o.is_a_snapshot
    )
    if (!ok(vm !== undefined, 'finds a halted VM in its collection')) return

    // see the start through the event loop: the collection emits the updated VM
    const running = new Promise(resolve => {
      const listener = items => {
        for (const o of Object.values(items)) {
          if (o.$ref === vm.$ref && o.power_state === 'Running') {
            xapi.objects.removeListener('update', listener)
            resolve(o)
          }
        }
      }
      xapi.objects.on('update', listener)
    })
    const result = await withTimeout(xapi.callAsync('VM.start', vm.$ref, false, false), 30e3, 'callAsync')
    ok(result === '', "callAsync('VM.start', ref, false, false) resolves with the task's void result", result)
    const after = await withTimeout(running, 20e3, 'the VM seen Running')
    const host = xapi.getObjectByRef(after.resident_on, undefined)
    ok(after.power_state === 'Running' && host?.$type === 'host',
      `its objects emit the VM Running, resident on ${host?.name_label}`, after.resident_on)

    // callAsync destroys its task when done: the del event reaches the collection
    const tasks = () => Object.values(xapi.objects.all).filter(o => o.$type === 'task' && o.name_label === 'Async.VM.start')
    const until = Date.now() + 10e3
    while (tasks().length && Date.now() < until) await sleep(100)
    ok(tasks().length === 0, 'the task it destroyed leaves its collection (a del event)', tasks().map(t => t.$ref))

    ok(xapi.watchEventsError === undefined && Date.now() - xapi.lastEventFetchedTimestamp < 65e3,
      'its event loop is still running, with no error', String(xapi.watchEventsError))
    ok(warnings.length === 0, 'no warnings from its event loop or initial fetch', warnings)
  } catch (error) {
    ok(false, 'runs to the end', error?.stack ?? String(error))
    if (warnings.length) console.log('# warnings:\n# ' + warnings.join('\n# '))
  } finally {
    await xapi.disconnect().catch(() => {})
    ok(xapi.status === 'disconnected', 'disconnects')
  }
}

await main()
// its event loop keeps waiting for a reconnection: end here
process.exit(failed ? 1 : 0)
