// Reads a backup repository with Xen Orchestra's own code (installed into
// build/backup/xo by tests/backup/test_backup_xo.py): @xen-orchestra/fs's file handler,
// @xen-orchestra/backups' RemoteAdapter (listVmBackups, the .json as XO
// parses it; readIncrementalVmBackup, each disk's chain as XO restores it)
// and vhd-lib (VhdSynthetic.fromVhdChain: the VHD chain block by block).
//
//   node xo-read.mjs REPO_DIR VM_UUID OUT_DIR
//
// Writes OUT_DIR/report.json (what XO made of each restore point) and
// OUT_DIR/<adapter|vhdlib>/<ts>/<source VDI uuid>.raw (each disk as XO
// reads it), for the Python test to compare with the disks' content.
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { getHandler } from '@xen-orchestra/fs'
import { RemoteAdapter } from '@xen-orchestra/backups/RemoteAdapter.mjs'
import { VhdSynthetic, openVhd } from 'vhd-lib'
import Disposable from 'promise-toolbox/Disposable'

const [repoDir, vmUuid, outDir] = process.argv.slice(2)
const handler = getHandler({ url: 'file://' + repoDir })
await handler.sync()
const adapter = new RemoteAdapter(handler)
const report = { backups: [], errors: [] }

function openOut (kind, ts, uuid, size) {
  const dir = join(outDir, kind, ts)
  mkdirSync(dir, { recursive: true })
  const fd = openSync(join(dir, uuid + '.raw'), 'w')
  ftruncateSync(fd, size)
  return fd
}

// the files of a chain, as vhd-lib resolves each parent (parentUnicodeName)
async function chainFiles (path) {
  const files = []
  for (;;) {
    const next = await Disposable.use(openVhd(handler, path), vhd => {
      files.push({ path, uuid: vhd.footer.uuid.toString('hex'), diskType: vhd.footer.diskType,
        parentUuid: vhd.footer.diskType === 4 ? vhd.header.parentUuid.toString('hex') : null })
      return vhd.footer.diskType === 4 ? join(dirname(path), vhd.header.parentUnicodeName) : null
    })
    if (next === null) return files
    path = next
  }
}

const backups = await adapter.listVmBackups(vmUuid)
for (const md of backups) {
  const ts = basename(md._filename, '.json')
  const entry = {
    ts,
    filename: md._filename,
    id: md.id,
    version: md.version,
    mode: md.mode,
    jobId: md.jobId,
    scheduleId: md.scheduleId,
    timestamp: md.timestamp,
    vmUuid: md.vm?.uuid,
    vmSnapshotUuid: md.vmSnapshot?.uuid,
    size: md.size,
    vhds: md.vhds,
    isVhdDifferencing: md.isVhdDifferencing,
    vdis: {},
    vbdVdis: Object.values(md.vbds ?? {}).map(vbd => vbd.VDI),
    disks: {}
  }
  for (const [ref, vdi] of Object.entries(md.vdis ?? {})) {
    entry.vdis[ref] = {
      uuid: vdi.uuid,
      snapshotOf: vdi.$snapshot_of$uuid,
      sr: vdi.$SR$uuid,
      virtual_size: vdi.virtual_size,
      baseDeltaVdi: vdi.other_config?.['xo:base_delta_vdi'],
      backupVm: vdi.other_config?.['xo:backup:vm']
    }
  }
  if (md.mode === 'delta') {
    // as XO's ImportVmBackup does: every disk of the point, its chain resolved by XO
    let inc
    try {
      inc = await adapter.readIncrementalVmBackup(md, undefined)
    } catch (error) {
      report.errors.push(`${ts}: readIncrementalVmBackup: ${error.stack ?? error}`)
    }
    for (const [ref, disk] of Object.entries(inc?.disks ?? {})) {
      const src = md.vdis[ref].$snapshot_of$uuid
      const d = { blockSize: disk.getBlockSize(), virtualSize: disk.getVirtualSize(), blocks: 0 }
      try {
        const fd = openOut('adapter', ts, src, d.virtualSize)
        for await (const { index, data } of disk.diskBlocks()) {
          writeSync(fd, data, 0, data.length, index * d.blockSize)
          d.blocks++
        }
        closeSync(fd)
        await disk.close()
      } catch (error) {
        report.errors.push(`${ts} ${src}: RemoteAdapter's disk: ${error.stack ?? error}`)
      }
      entry.disks[src] = d
    }
    // vhd-lib alone: the chain from the point's VHD down to its full, every block
    for (const [ref, rel] of Object.entries(md.vhds ?? {})) {
      const src = md.vdis[ref]?.$snapshot_of$uuid
      const path = join(dirname(md._filename), rel)
      try {
        await Disposable.use(VhdSynthetic.fromVhdChain(handler, path), async vhd => {
          await vhd.readBlockAllocationTable()
          const size = Number(vhd.footer.currentSize)
          const fd = openOut('vhdlib', ts, src, size)
          const bs = vhd.header.blockSize
          let n = 0
          for (let i = 0; i < vhd.header.maxTableEntries; i++) {
            if (!vhd.containsBlock(i)) continue
            const { data } = await vhd.readBlock(i)
            writeSync(fd, data, 0, Math.min(data.length, size - i * bs), i * bs)
            n++
          }
          closeSync(fd)
          entry.disks[src] = { ...entry.disks[src], vhdlibChain: await chainFiles(path), vhdlibBlocks: n }
        })
      } catch (error) {
        report.errors.push(`${ts} ${src}: vhd-lib: ${error.stack ?? error}`)
      }
    }
  }
  report.backups.push(entry)
}
// what XO's clean-up after each backup (cleanVm, here told to remove and
// merge nothing) thinks of the VM's folder: every warning is something XO
// would delete or repair
report.cleanVm = { warnings: [], infos: [] }
const describe = (message, data) => message + (data === undefined ? '' : ' ' + JSON.stringify(data, (k, v) =>
  v instanceof Error ? String(v) : typeof v === 'bigint' ? String(v) : v))
try {
  report.cleanVm.result = await adapter.cleanVm(`xo-vm-backups/${vmUuid}`, {
    lock: false,
    remove: false,
    merge: false,
    logWarn: (message, data) => report.cleanVm.warnings.push(describe(message, data)),
    logInfo: (message, data) => report.cleanVm.infos.push(describe(message, data))
  })
} catch (error) {
  report.errors.push(`cleanVm: ${error.stack ?? error}`)
}
writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2))
