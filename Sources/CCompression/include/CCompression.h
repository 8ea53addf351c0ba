// zlib and libzstd for image layers, plus helpers for what Swift cannot call: zlib's
// initialisers are function-like macros (inflateInit2 passes ZLIB_VERSION and sizeof(z_stream)).
//
// Only OverlayCore (and the test support, which writes compressed test layers) imports this
// module, with `internal import`, so no client of OverlayCore loads these headers.
#ifndef OVERLAYBENCH_CCOMPRESSION_H
#define OVERLAYBENCH_CCOMPRESSION_H

#include <zlib.h>
#include <zstd.h>

/// inflateInit2(stream, 16 + MAX_WBITS): a gzip (RFC 1952) stream, not zlib or raw deflate.
int cc_inflate_init_gzip(z_stream *stream);
/// deflateInit2 writing a gzip stream at `level` (what a layer writer does).
int cc_deflate_init_gzip(z_stream *stream, int level);

#endif
