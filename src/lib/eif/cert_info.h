/* cert_info.h: describe's "SigningCertificate" JSON for an X.509
 * certificate, byte for byte as nitro-cli describe-eif prints it. */
#ifndef EIFKIT_LIB_CERT_INFO_H
#define EIFKIT_LIB_CERT_INFO_H

#include <openssl/x509.h>

#include "base/json.h"

/* An object with nitro-cli's keys in its order: IssuerName (a sorted map
 * of OpenSSL long names, a repeated attribute keeping its last value),
 * Algorithm, NotBefore, NotAfter, Signature (uppercase hex, ':'-joined).
 * 0, EK_ENOMEM, or EK_EFORMAT when a validity date cannot be printed. */
int cert_info_json(X509 *cert, struct json_value **ret);

#endif
