/* extsign_p11.c: --private-key 'pkcs11:...', a key on a PKCS#11 token,
 * through p11-kit.
 *
 * Why p11-kit and not OpenSSL: Debian 12's OpenSSL is 3.0, whose ENGINE
 * API (what libp11's engine_pkcs11 plugs into) is deprecated, and Debian
 * 12 has no pkcs11-provider. p11-kit is on every Debian system, parses RFC
 * 7512 URIs, and loads the modules the system has registered
 * (/usr/share/p11-kit/modules, which softhsm2 and opensc fill) or the one
 * a module-path names. eifkit needs nothing from the key but a signature
 * of a digest, which is one C_Sign with CKM_ECDSA: the same digest
 * callback --signer uses, and the result is checked with the
 * certificate's key like every other signature.
 *
 * The PIN comes from --pin-file or the URI's pin-source (a file: URI or an
 * absolute path), never from the command line: a pin-value in the URI is
 * refused. One trailing newline of the file is not part of the PIN. */
#include "base/internal.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "base/io.h"
#include "eif/sign.h"
#include "extsign.h"

#define PIN_MAX 256

struct p11_signer {
	CK_FUNCTION_LIST **mods; /* registered modules, or */
	CK_FUNCTION_LIST *mod;   /* the module-path one */
	CK_FUNCTION_LIST *f;     /* the token's */
	CK_SESSION_HANDLE sess;
	bool have_sess, always_auth;
	CK_OBJECT_HANDLE key;
	char label[33];          /* the token's, for messages */
	char pin[PIN_MAX + 1];
	size_t pin_len;
};

static void release(void *ctx)
{
	struct p11_signer *p = ctx;

	if (!p)
		return;
	if (p->have_sess)
		p->f->C_CloseSession(p->sess);
	if (p->mods)
		p11_kit_modules_finalize_and_release(p->mods);
	if (p->mod) {
		p11_kit_module_finalize(p->mod);
		p11_kit_module_release(p->mod);
	}
	explicit_bzero(p, sizeof(*p));
	free(p);
}

static int p11_fail(struct ek_error *err, CK_RV rv, const char *what,
		    const char *uri)
{
	return ek_fail(err, EK_ECRYPTO, "private key '%s': %s: %s (0x%lx)", uri,
		       what, p11_kit_strerror(rv), (unsigned long)rv);
}

/* ---- the PIN ---- */

static int read_pin(struct p11_signer *p, const char *path, const char *what,
		    struct ek_error *err)
{
	uint8_t *buf;
	size_t len;
	struct ek_error e;

	if (io_read_small_file(path, PIN_MAX + 2, &buf, &len, &e) < 0)
		return ek_fail(err, EK_EINVAL, "%s %s", what, e.msg);
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len > PIN_MAX || memchr(buf, 0, len)) {
		explicit_bzero(buf, len);
		free(buf);
		return ek_fail(err, EK_EINVAL, "%s '%s': not a PIN (a line of "
			       "at most %d bytes)", what, path, PIN_MAX);
	}
	memcpy(p->pin, buf, len);
	p->pin_len = len;
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

static int get_pin(struct p11_signer *p, P11KitUri *u, const char *uri,
		   const char *pin_file, struct ek_error *err)
{
	const char *src = p11_kit_uri_get_pin_source(u);

	if (p11_kit_uri_get_pin_value(u))
		return ek_fail(err, EK_EINVAL, "private key '%s': pin-value "
			       "would put the PIN on the command line; use "
			       "--pin-file or pin-source", uri);
	if (src && pin_file)
		return ek_fail(err, EK_EINVAL, "private key '%s': pin-source "
			       "and --pin-file both given: give the PIN once",
			       uri);
	if (pin_file)
		return read_pin(p, pin_file, "--pin-file", err);
	if (!src)
		return 0;
	if (strncmp(src, "file://", 7) == 0 && src[7] == '/')
		src += 7;
	else if (strncmp(src, "file:", 5) == 0)
		src += 5;
	if (src[0] != '/')
		return ek_fail(err, EK_EINVAL, "private key '%s': pin-source "
			       "must be file:/PATH or /PATH", uri);
	return read_pin(p, src, "pin-source", err);
}

/* ---- finding the token and the key ---- */

static void trim_label(char out[33], const CK_UTF8CHAR label[32])
{
	size_t n = 32;

	memcpy(out, label, 32);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* The modules to look in: module-path's alone, else those p11-kit has
 * registered (module-name picks one by name). */
static int load_modules(struct p11_signer *p, P11KitUri *u, const char *uri,
			CK_FUNCTION_LIST ***list, struct ek_error *err)
{
	const char *path = p11_kit_uri_get_module_path(u);
	CK_RV rv;

	if (path) {
		p->mod = p11_kit_module_load(path, 0);
		if (!p->mod)
			return ek_fail(err, EK_EINVAL, "private key '%s': cannot "
				       "load module-path '%s': %s", uri, path,
				       p11_kit_message());
		rv = p11_kit_module_initialize(p->mod);
		if (rv != CKR_OK) {
			p11_kit_module_release(p->mod);
			p->mod = NULL;
			return p11_fail(err, rv, "C_Initialize", uri);
		}
		*list = calloc(2, sizeof(**list));
		if (!*list)
			return ek_fail(err, EK_ENOMEM, "out of memory");
		(*list)[0] = p->mod;
		return 0;
	}
	p->mods = p11_kit_modules_load_and_initialize(0);
	if (!p->mods)
		return ek_fail(err, EK_EINVAL, "private key '%s': cannot load "
			       "the PKCS#11 modules: %s", uri,
			       p11_kit_message());
	*list = NULL;
	return 0;
}

static bool module_matches(P11KitUri *u, CK_FUNCTION_LIST *f)
{
	const char *want = p11_kit_uri_get_module_name(u);
	CK_INFO info;
	char *name;
	bool ok;

	if (f->C_GetInfo(&info) != CKR_OK ||
	    !p11_kit_uri_match_module_info(u, &info))
		return false;
	if (!want)
		return true;
	name = p11_kit_module_get_name(f);
	ok = name && strcmp(name, want) == 0;
	free(name);
	return ok;
}

/* The one token the URI names; 0, or an error when none or several. */
static int find_token(struct p11_signer *p, P11KitUri *u, const char *uri,
		      CK_FUNCTION_LIST **mods, CK_SLOT_ID *slot_ret,
		      struct ek_error *err)
{
	CK_SLOT_ID want_slot = p11_kit_uri_get_slot_id(u);
	unsigned found = 0;

	for (size_t m = 0; mods[m]; m++) {
		CK_FUNCTION_LIST *f = mods[m];
		CK_SLOT_ID slots[64];
		CK_ULONG n = ARRAY_SIZE(slots);

		if (!module_matches(u, f) ||
		    f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
			continue;
		for (CK_ULONG i = 0; i < n; i++) {
			CK_SLOT_INFO si;
			CK_TOKEN_INFO ti;

			if (want_slot != (CK_SLOT_ID)-1 && slots[i] != want_slot)
				continue;
			if (f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
			    !p11_kit_uri_match_slot_info(u, &si) ||
			    f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
			    !p11_kit_uri_match_token_info(u, &ti))
				continue;
			if (found++ == 0) {
				p->f = f;
				*slot_ret = slots[i];
				trim_label(p->label, ti.label);
			}
		}
	}
	if (found == 0)
		return ek_fail(err, EK_EINVAL, "private key '%s': no PKCS#11 "
			       "token matches", uri);
	if (found > 1)
		return ek_fail(err, EK_EINVAL, "private key '%s': %u tokens "
			       "match; name one (token=...)", uri, found);
	return 0;
}

static int login(struct p11_signer *p, CK_SLOT_ID slot, const char *uri,
		 struct ek_error *err)
{
	CK_TOKEN_INFO ti;
	CK_RV rv = p->f->C_GetTokenInfo(slot, &ti);

	if (rv != CKR_OK)
		return p11_fail(err, rv, "C_GetTokenInfo", uri);
	if (!(ti.flags & CKF_LOGIN_REQUIRED))
		return 0;
	if (!p->pin_len && !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
		return ek_fail(err, EK_EINVAL, "private key '%s': token '%s' "
			       "needs a PIN (--pin-file, or pin-source in the "
			       "URI)", uri, p->label);
	rv = p->f->C_Login(p->sess, CKU_USER,
			   p->pin_len ? (CK_UTF8CHAR_PTR)p->pin : NULL,
			   p->pin_len);
	if (rv == CKR_PIN_INCORRECT)
		return ek_fail(err, EK_ECRYPTO, "private key '%s': token '%s': "
			       "wrong PIN", uri, p->label);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return p11_fail(err, rv, "C_Login", uri);
	return 0;
}

/* The one private EC key the URI's object attributes (object=, id=,
 * type=) name on the token. */
static int find_key(struct p11_signer *p, P11KitUri *u, const char *uri,
		    struct ek_error *err)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[8];
	CK_ULONG n = 0, nu = 0, count = 0;
	CK_ATTRIBUTE *ua = p11_kit_uri_get_attributes(u, &nu);
	CK_OBJECT_HANDLE h[2];
	CK_KEY_TYPE kt = 0;
	CK_BBOOL always = CK_FALSE;
	CK_ATTRIBUTE get[2] = { { CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_ALWAYS_AUTHENTICATE, &always,
				  sizeof(always) } };
	CK_RV rv;

	for (CK_ULONG i = 0; i < nu && n < ARRAY_SIZE(tmpl) - 1; i++) {
		if (ua[i].type == CKA_CLASS) {
			if (ua[i].ulValueLen != sizeof(cls) ||
			    memcmp(ua[i].pValue, &cls, sizeof(cls)) != 0)
				return ek_fail(err, EK_EINVAL, "private key "
					       "'%s': the URI names another "
					       "type than type=private", uri);
			continue;
		}
		tmpl[n++] = ua[i];
	}
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	rv = p->f->C_FindObjectsInit(p->sess, tmpl, n);
	if (rv != CKR_OK)
		return p11_fail(err, rv, "C_FindObjectsInit", uri);
	rv = p->f->C_FindObjects(p->sess, h, 2, &count);
	p->f->C_FindObjectsFinal(p->sess);
	if (rv != CKR_OK)
		return p11_fail(err, rv, "C_FindObjects", uri);
	if (count == 0)
		return ek_fail(err, EK_EINVAL, "private key '%s': no private "
			       "key on token '%s' matches", uri, p->label);
	if (count > 1)
		return ek_fail(err, EK_EINVAL, "private key '%s': several "
			       "private keys on token '%s' match; name one "
			       "(object=... or id=...)", uri, p->label);
	p->key = h[0];
	rv = p->f->C_GetAttributeValue(p->sess, p->key, get, 1);
	if (rv != CKR_OK)
		return p11_fail(err, rv, "C_GetAttributeValue", uri);
	if (kt != CKK_EC)
		return ek_fail(err, EK_ECRYPTO, "private key '%s': not an EC "
			       "key (need P-256, P-384 or P-521)", uri);
	/* optional attribute: absent means false */
	if (p->f->C_GetAttributeValue(p->sess, p->key, get + 1, 1) == CKR_OK)
		p->always_auth = always == CK_TRUE;
	return 0;
}

/* ---- signing ---- */

static int p11_sign(void *ctx, const uint8_t *digest, size_t dlen,
		    uint8_t *sig, size_t sig_max, size_t *sig_len,
		    struct ek_error *err)
{
	struct p11_signer *p = ctx;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_ULONG len = sig_max;
	CK_RV rv = p->f->C_SignInit(p->sess, &mech, p->key);

	if (rv == CKR_OK && p->always_auth)
		rv = p->f->C_Login(p->sess, CKU_CONTEXT_SPECIFIC,
				   (CK_UTF8CHAR_PTR)p->pin, p->pin_len);
	if (rv == CKR_OK)
		rv = p->f->C_Sign(p->sess, (CK_BYTE_PTR)digest, dlen, sig, &len);
	if (rv != CKR_OK)
		return ek_fail(err, EK_ECRYPTO, "token '%s': C_Sign: %s (0x%lx)",
			       p->label, p11_kit_strerror(rv),
			       (unsigned long)rv);
	*sig_len = len;
	return 0;
}

static int open_key(struct p11_signer *p, const char *uri,
		    const char *pin_file, struct ek_error *err)
{
	P11KitUri *u = p11_kit_uri_new();
	CK_FUNCTION_LIST **list = NULL;
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	int r, rc;

	if (!u)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u);
	if (r != P11_KIT_URI_OK) {
		rc = ek_fail(err, EK_EINVAL, "private key '%s': not a PKCS#11 "
			     "URI: %s", uri, p11_kit_uri_message(r));
		goto out;
	}
	if ((rc = get_pin(p, u, uri, pin_file, err)) ||
	    (rc = load_modules(p, u, uri, &list, err)))
		goto out;
	rc = find_token(p, u, uri, list ? list : p->mods, &slot, err);
	if (rc)
		goto out;
	rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
				 &p->sess);
	if (rv != CKR_OK) {
		rc = p11_fail(err, rv, "C_OpenSession", uri);
		goto out;
	}
	p->have_sess = true;
	if (!(rc = login(p, slot, uri, err)))
		rc = find_key(p, u, uri, err);
out:
	free(list);
	p11_kit_uri_free(u);
	return rc;
}

int p11_signer_load(const char *cert, const char *uri, const char *pin_file,
		    struct ek_signer **ret, struct ek_error *err)
{
	struct p11_signer *p = calloc(1, sizeof(*p));
	uint8_t zero[SIGN_PCR_LEN] = { 0 }, *probe = NULL;
	size_t probe_len;
	char what[600];
	int rc;

	if (!p)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	rc = open_key(p, uri, pin_file, err);
	/* modules that use OpenSSL (opensc's) may leave errors queued that
	 * would end up in an unrelated message later */
	ERR_clear_error();
	if (rc) {
		release(p);
		return rc;
	}
	snprintf(what, sizeof(what), "private key '%.500s'", uri);
	rc = signer_load_external(cert, p11_sign, release, p, what, ret, err);
	/* One signature now, checked with the certificate, so that a key
	 * that is not the certificate's fails before the image is made. */
	if (!rc)
		rc = signer_make_section(*ret, zero, &probe, &probe_len, err);
	free(probe);
	if (rc && *ret) {
		signer_free(*ret);
		*ret = NULL;
	}
	return rc;
}
