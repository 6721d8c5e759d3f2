'use strict'
// @vates/fuse-vhd is not on the npm registry this project reaches; only XO's
// file-level restore mounts a VHD, and the backup tests never do.
exports.mount = function mount () {
  throw new Error('@vates/fuse-vhd is a stub in these tests')
}
