/* cert_info.c: describe's "SigningCertificate" object, as nitro-cli's
 * get_certificate_info prints it (cert_info.h). */
#include "base/internal.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "eif/cert_info.h"

static int push_str(struct json_value *obj, const char *key, const char *s,
		    size_t len)
{
	struct json_value *v = json_new_stringn(s, len);

	if (!v)
		return EK_ENOMEM;
	return json_object_push(obj, key, v);
}

/* OBJ_obj2txt with names allowed: the long name, else the short name,
 * else the dotted OID (rust-openssl's Display for Asn1Object). */
static char *obj_text(const ASN1_OBJECT *obj)
{
	int n = OBJ_obj2txt(NULL, 0, obj, 0);
	char *s;

	if (n < 0)
		n = 0;
	s = malloc((size_t)n + 1);
	if (s && OBJ_obj2txt(s, n + 1, obj, 0) < 0)
		s[0] = '\0';
	return s;
}

/* nitro-cli prints each issuer value as format!("{:?}", value) with every
 * '"' then removed: Rust's escape_debug for str. ASCII is handled exactly;
 * of the non-ASCII code points only the C1 controls and U+00AD are
 * escaped here (Rust's full printable / grapheme-extend tables are not
 * reproduced, so exotic characters may print differently). */
static void rust_debug_unquoted(struct strbuf *sb, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c == '\r')
			strbuf_addstr(sb, "\\r");
		else if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\\')
			strbuf_addstr(sb, "\\\\");
		else if (c == '"')
			strbuf_addch(sb, '\\'); /* \" with the quote removed */
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\u{%x}", c);
		else if (c == 0xc2 && i + 1 < len &&
			 (((unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) ||
			  (unsigned char)s[i + 1] == 0xad))
			strbuf_addf(sb, "\\u{%x}", (unsigned char)s[++i]);
		else
			strbuf_addch(sb, (char)c);
	}
}

/* rust-openssl's as_utf8 reads the UTF-8 copy as a C string (up to the
 * first NUL); a string OpenSSL cannot convert prints as "error". */
static char *rdn_value(const X509_NAME_ENTRY *e)
{
	unsigned char *u = NULL;
	int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb);
	if (n < 0) {
		ERR_clear_error();
		strbuf_addstr(&sb, "error");
	} else {
		len = strnlen((char *)u, (size_t)n);
		if (text_utf8_valid((const char *)u, len))
			rust_debug_unquoted(&sb, (char *)u, len);
		else
			strbuf_addstr(&sb, "error");
	}
	OPENSSL_free(u);
	if (!strbuf_ok(&sb)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

struct rdn {
	char *key, *val;
	size_t idx;
};

static int rdn_cmp(const void *a, const void *b)
{
	const struct rdn *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The issuer as a BTreeMap<String, String>: sorted by key bytes, a
 * repeated attribute keeps its last value. */
static int push_issuer(struct json_value *obj, X509 *cert)
{
	const X509_NAME *name = X509_get_issuer_name(cert);
	int n = X509_NAME_entry_count(name);
	size_t i, cnt = n > 0 ? (size_t)n : 0;
	struct rdn *v = calloc(cnt + 1, sizeof(*v));
	struct json_value *map = json_new_object();
	int rc = v && map ? 0 : EK_ENOMEM;

	for (i = 0; !rc && i < cnt; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, (int)i);

		v[i].idx = i;
		v[i].key = obj_text(X509_NAME_ENTRY_get_object(e));
		v[i].val = rdn_value(e);
		if (!v[i].key || !v[i].val)
			rc = EK_ENOMEM;
	}
	if (!rc)
		qsort(v, cnt, sizeof(*v), rdn_cmp);
	for (i = 0; !rc && i < cnt; i++)
		if (i + 1 == cnt || strcmp(v[i].key, v[i + 1].key) != 0)
			rc = push_str(map, v[i].key, v[i].val, strlen(v[i].val));
	for (i = 0; v && i < cnt; i++) {
		free(v[i].key);
		free(v[i].val);
	}
	free(v);
	if (rc) {
		json_free(map);
		return rc;
	}
	return json_object_push(obj, "IssuerName", map);
}

static int push_time(struct json_value *obj, const char *key,
		     const ASN1_TIME *t)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = EK_ENOMEM;

	if (!bio)
		return rc;
	if (ASN1_TIME_print(bio, t) != 1) {
		rc = EK_EFORMAT;
	} else {
		n = BIO_get_mem_data(bio, &p);
		rc = n >= 0 ? push_str(obj, key, p, (size_t)n) : EK_EFORMAT;
	}
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* The signature algorithm's name, e.g. "ecdsa-with-SHA384". */
static int push_algorithm(struct json_value *obj, X509 *cert)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *oid;
	char *s;
	int rc;

	X509_get0_signature(NULL, &alg, cert);
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	s = obj_text(oid);
	if (!s)
		return EK_ENOMEM;
	rc = push_str(obj, "Algorithm", s, strlen(s));
	free(s);
	return rc;
}

/* The certificate's signature bytes as "AB:CD:...". */
static int push_signature(struct json_value *obj, X509 *cert)
{
	const ASN1_BIT_STRING *sig;
	const unsigned char *d;
	struct strbuf sb;
	int i, n, rc;

	X509_get0_signature(&sig, NULL, cert);
	d = ASN1_STRING_get0_data(sig);
	n = ASN1_STRING_length(sig);
	strbuf_init(&sb);
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%02X", i ? ":" : "", d[i]);
	rc = strbuf_ok(&sb) ? push_str(obj, "Signature", sb.buf, sb.len)
			    : EK_ENOMEM;
	strbuf_release(&sb);
	return rc;
}

int cert_info_json(X509 *cert, struct json_value **ret)
{
	struct json_value *obj = json_new_object();
	int rc = obj ? 0 : EK_ENOMEM;

	*ret = NULL;
	if (!rc)
		rc = push_issuer(obj, cert);
	if (!rc)
		rc = push_algorithm(obj, cert);
	if (!rc)
		rc = push_time(obj, "NotBefore", X509_get0_notBefore(cert));
	if (!rc)
		rc = push_time(obj, "NotAfter", X509_get0_notAfter(cert));
	if (!rc)
		rc = push_signature(obj, cert);
	if (rc) {
		json_free(obj);
		return rc;
	}
	*ret = obj;
	return 0;
}
