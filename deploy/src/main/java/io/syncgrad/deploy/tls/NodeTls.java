package io.syncgrad.deploy.tls;

/**
 * TLS with mutual authentication between nodes: each node presents the key in its keystore and
 * accepts only peers whose certificate chain ends at a certificate its truststore holds (the
 * cluster's authority, for stores of {@code syncgrad certs}; PKCS12 files). Here, beside the code
 * that writes such stores, so that the node configuration imports it and nothing imports back.
 *
 * @param keyStore           the node's key and certificate
 * @param keyStorePassword   its password (also the key's)
 * @param trustStore         the certificates of the cluster
 * @param trustStorePassword its password
 */
public record NodeTls(String keyStore, String keyStorePassword, String trustStore, String trustStorePassword) {}
