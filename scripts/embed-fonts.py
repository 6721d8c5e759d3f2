#!/usr/bin/env python3
"""Builds the console fonts xentui reads framebuffers with into a C header.

Usage: embed-fonts.py OUT.h

The recogniser (src/console/fbtext.c) matches each cell of a guest's screen
against the glyphs of the fonts guests really use, so those are compiled in
and xentui needs no font file at run time:

- Linux's built-in VGA8x16 and VGA8x8 (what a framebuffer console shows
  before anything loads a font). No Debian font file has them: the 8x16
  differs from console-data's default8x16 in 45 glyphs ('f', 'v', 'M', 'W',
  '0'...). They are read from Debian's kernel image (linux-image-amd64,
  /boot/vmlinuz-*): decompressed, then found by the glyphs they share with
  console-data's fonts ('A'-'L' of default8x16, 'A'-'Z' of Lat15-VGA8), and
  checked (a blank glyph 0, a full block at 0xDB). Without a kernel image
  they are left out, with a warning.
- The IBM VGA ROM font a PC BIOS draws with (SeaBIOS): code page 437 from
  console-data's default8x16, iso01a-8x16 and Uni2-VGA16.
- Debian's console-setup fonts (Lat15-Fixed, -VGA, -Terminus in every size),
  latarcyrheb-sun16 (RHEL/CentOS/Rocky's default) and lat9w-16 (the nearest
  Debian has to eurlatgr, Fedora's default, which Debian does not ship).

Each glyph is stored with the code point it stands for (ASCII if one maps to
it, else the first its unicode table lists) and its slot in the font (the
character code VGA text mode draws it for).
"""
import glob
import gzip
import lzma
import os
import struct
import subprocess
import sys
import zlib

FONTDIR = "/usr/share/consolefonts"

CP437_LOW = [
    0x0000, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
    0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,
    0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
]
CP437_HIGH = bytes(range(0x80, 0x100)).decode("cp437")


def cp437(b):
    if b < 0x20:
        return CP437_LOW[b]
    if b == 0x7F:
        return 0x2302
    return b if b < 0x80 else ord(CP437_HIGH[b - 0x80])


def read_psf(path):
    """(width, height, [bitmap bytes per glyph], [[code points] per glyph] or None)."""
    d = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    if d[:2] == b"\x36\x04":
        mode, h = d[2], d[3]
        n = 512 if mode & 1 else 256
        glyphs = [d[4 + i * h:4 + (i + 1) * h] for i in range(n)]
        if not mode & 6:
            return 8, h, glyphs, None
        p, table = 4 + n * h, []
        for _ in range(n):
            cps, seq = [], False
            while True:
                v = d[p] | d[p + 1] << 8
                p += 2
                if v == 0xFFFF:
                    break
                if v == 0xFFFE:
                    seq = True
                elif not seq:
                    cps.append(v)
            table.append(cps)
        return 8, h, glyphs, table
    if d[:4] != b"\x72\xb5\x4a\x86":
        raise SystemExit("%s: not a PSF font" % path)
    _, _, hs, flags, n, cs, h, w = struct.unpack("<8I", d[:32])
    glyphs = [d[hs + i * cs:hs + (i + 1) * cs] for i in range(n)]
    if not flags & 1:
        return w, h, glyphs, None
    p, table = hs + n * cs, []
    for _ in range(n):
        cps, seq = [], False
        while True:
            if d[p] == 0xFF:
                p += 1
                break
            if d[p] == 0xFE:
                seq = True
                p += 1
                continue
            ln = 1 if d[p] < 0x80 else 2 if d[p] < 0xE0 else 3 if d[p] < 0xF0 else 4
            c = ord(d[p:p + ln].decode("utf-8"))
            p += ln
            if not seq:
                cps.append(c)
        table.append(cps)
    return w, h, glyphs, table


def primary(cps):
    for c in cps:
        if c < 0x80:
            return c
    return cps[0] if cps else None


def font_from_file(name, path):
    w, h, glyphs, table = read_psf(path)
    out = []
    for i, g in enumerate(glyphs):
        cp = primary(table[i]) if table else i
        if cp:
            out.append((cp, i, g))
    return (name, w, h, out)


def vga_rom():
    out, seen = [], set()
    for f in ("default8x16", "iso01a-8x16", "Uni2-VGA16"):
        w, h, glyphs, table = read_psf(os.path.join(FONTDIR, f + ".psf.gz"))
        index = {}
        for i in range(len(glyphs)):
            for c in (table[i] if table else [i]):
                index.setdefault(c, i)
        for b in range(1, 256):
            i = index.get(cp437(b))
            if i is not None and (cp437(b), glyphs[i]) not in seen:
                seen.add((cp437(b), glyphs[i]))
                out.append((cp437(b), b, glyphs[i]))
    return ("VGA ROM", 8, 16, out)


def vmlinux():
    """The newest /boot/vmlinuz-*, decompressed (None if none can be read)."""
    for path in sorted(glob.glob("/boot/vmlinuz-*"), reverse=True):
        d = open(path, "rb").read()
        for magic, how in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b\x08", "gz")):
            i = d.find(magic)
            if i < 0:
                continue
            try:
                if how == "xz":
                    return path, lzma.LZMADecompressor().decompress(d[i:])
                if how == "gz":
                    return path, zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(d[i:])
                return path, subprocess.run(["zstd", "-dc"], input=d[i:], capture_output=True).stdout
            except Exception:
                continue
    return None, None


def kernel_font(image, name, h, anchor_font, first, last):
    """Linux's cp437 font of height h in image, found by glyphs first..last of anchor_font."""
    _, ah, glyphs, table = read_psf(os.path.join(FONTDIR, anchor_font + ".psf.gz"))
    index = {}
    for i in range(len(glyphs)):
        for c in (table[i] if table else [i]):
            index.setdefault(c, i)
    probe = b"".join(glyphs[index[c]] for c in range(first, last + 1))
    at = image.find(probe)
    if at < 0:
        return None
    base = at - first * h
    data = image[base:base + 256 * h]
    if data[:h] != bytes(h) or data[0xDB * h:0xDC * h] != b"\xff" * h:
        return None
    return (name, 8, h, [(cp437(b), b, data[b * h:(b + 1) * h]) for b in range(1, 256)])


def main():
    out = sys.argv[1]
    fonts = []
    path, image = vmlinux()
    found = []
    if image:
        for args in (("Linux VGA8x16", 16, "default8x16", ord("A"), ord("L")),
                     ("Linux VGA8x8", 8, "Lat15-VGA8", ord("A"), ord("Z"))):
            f = kernel_font(image, *args)
            if f:
                fonts.append(f)
                found.append(args[0])
    if len(found) < 2:
        sys.stderr.write("embed-fonts: Linux's built-in fonts not found (%s): install linux-image-amd64; "
                         "a framebuffer console in the kernel's own font will read less well\n"
                         % (path or "no /boot/vmlinuz-*"))
    fonts.append(vga_rom())
    for f in ("Lat15-VGA16", "Lat15-Fixed16", "Lat15-Terminus16", "Lat15-TerminusBold16",
              "Lat15-TerminusBoldVGA16", "Uni2-VGA16", "latarcyrheb-sun16", "lat9w-16",
              "Lat15-VGA14", "Lat15-Fixed14", "Lat15-Terminus14", "Lat15-TerminusBold14",
              "Lat15-Fixed13", "Lat15-Fixed15", "Lat15-Fixed18", "Lat15-VGA8",
              "Lat15-Terminus12x6", "Lat15-Terminus18x10", "Lat15-Terminus20x10", "Lat15-Terminus22x11",
              "Lat15-Terminus24x12", "Lat15-Terminus28x14", "Lat15-Terminus32x16"):
        fonts.append(font_from_file(f, os.path.join(FONTDIR, f + ".psf.gz")))

    lines = ["/* Generated by scripts/embed-fonts.py from Debian's console fonts%s: do not edit. */"
             % (" and " + path if found else ""), ""]
    for k, (name, w, h, glyphs) in enumerate(fonts):
        lines.append("static const uint32_t fbfont%d_cp[] = {%s};" % (k, ",".join("0x%x" % g[0] for g in glyphs)))
        lines.append("static const uint16_t fbfont%d_slot[] = {%s};" % (k, ",".join(str(g[1]) for g in glyphs)))
        bits = b"".join(g[2] for g in glyphs)
        body = ",".join("0x%02x" % b for b in bits)
        lines.append("static const uint8_t fbfont%d_bits[] = {%s};" % (k, body))
    lines.append("")
    lines.append("static const struct fbfont fbfonts[] = {")
    for k, (name, w, h, glyphs) in enumerate(fonts):
        lines.append('\t{"%s", %d, %d, %d, fbfont%d_cp, fbfont%d_slot, fbfont%d_bits},'
                     % (name, w, h, len(glyphs), k, k, k))
    lines.append("};")
    lines.append("#define FBFONTS_COUNT %d" % len(fonts))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
