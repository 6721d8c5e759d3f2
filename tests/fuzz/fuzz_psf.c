/* libFuzzer target: a console font file (PSF1 or PSF2, what
 * $XENTUI_CONSOLE_FONT may name) must load or be refused with a sentence,
 * never a crash, a leak or undefined behaviour; a font that loads must
 * answer every lookup within its glyphs.
 * sources: src/console/psf.c src/core/util.c
 * packages: zlib
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "psf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct psf_font *f = psf_parse(data, size, &err);

	free(err);
	if (!f)
		return 0;
	for (uint32_t cp = 0; cp < 0x600; cp += 7) {
		int g = psf_glyph_for(f, cp);
		if (g >= 0 && (unsigned)g >= f->count)
			abort(); /* a glyph the font does not have */
	}
	for (unsigned g = 0; g < f->count && g < 512; g++) {
		psf_codepoint_for(f, g);
		psf_pixel(f, g, g % (f->width + 1), g % (f->height + 1));
	}
	if (f->count && !psf_glyph(f, f->count - 1))
		abort();
	psf_free(f);
	return 0;
}
