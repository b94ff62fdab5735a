/* libFuzzer target: the CBOR tree decoder (base/cbor) and the attestation
 * document reader (eif/attest) on arbitrary bytes: the bytes as CBOR with
 * generic limits, as a document (parse, then the chain and signature
 * checks with the embedded root), and through the input decoder (hex,
 * base64) as a document again. Beyond the sanitizers, it traps when a
 * promise of cbor.h is broken: a subtree ending outside the tree or
 * before its item, a string outside the input and the decoder's copy,
 * or text that is not UTF-8. */
#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cbor.h"
#include "base/text.h"
#include "eif/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct cbor_doc *d, const uint8_t *in,
		       size_t len)
{
	for (size_t i = 0; i < d->nitems; i++) {
		const struct cbor_item *it = &d->items[i];

		if (it->end <= i || it->end > d->nitems)
			__builtin_trap();
		if (it->type != CBOR_BYTES && it->type != CBOR_TEXT)
			continue;
		if (it->str >= in && it->str <= in + len) {
			if (it->len > (size_t)(in + len - it->str))
				__builtin_trap();
		} else if (it->str < d->chunks) {
			__builtin_trap();
		}
		if (it->type == CBOR_TEXT &&
		    !text_utf8_valid((const char *)it->str, it->len))
			__builtin_trap();
		if (it->len)
			(void)*(volatile const uint8_t *)(it->str + it->len - 1);
	}
	for (size_t i = 0; i < d->nitems; i++)
		(void)cbor_child(d, &d->items[i], 0);
	if (d->nitems)
		(void)cbor_map_text(d, &d->items[0], "pcrs");
}

static void one_doc(const uint8_t *data, size_t size)
{
	struct attest_doc doc;
	struct ek_error err;

	if (!attest_parse(data, size, &doc, &err)) {
		if (doc.timestamp_ms == 0 || doc.ncabundle == 0)
			__builtin_trap();
		(void)attest_verify(&doc, NULL, 0, NULL, &err);
	}
	attest_doc_release(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbor_limits lim = { 16, 4096, size > 0 && (data[0] & 1) };
	enum attest_format used;
	struct cbor_doc d;
	struct ek_error err;
	uint8_t *dec;
	size_t dlen;

	if (!cbor_decode(data, size, &lim, &d, &err))
		check_tree(&d, data, size);
	cbor_doc_release(&d);
	one_doc(data, size);
	if (!attest_decode_input(data, size, ATTEST_FMT_AUTO, &dec, &dlen,
				 &used, &err)) {
		if (used != ATTEST_FMT_RAW)
			one_doc(dec, dlen);
		free(dec);
	}
	return 0;
}
