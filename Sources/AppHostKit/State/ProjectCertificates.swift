import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
  import Glibc
#endif

/// The files a TLS cache is served with: the project's CA certificate, which clients trust, and the
/// server certificate and key every TLS cache of the project presents (docs/contract.md, `"tls": true`).
package struct TLSFiles: Sendable, Equatable {
  package var caCertificate: String
  package var serverCertificate: String
  package var serverKey: String
  /// Changes whenever the server certificate (or its CA) is made again: part of each TLS cache's config hash,
  /// so that a persistent server still presenting the old one is recreated.
  package var digest: String

  package init(caCertificate: String, serverCertificate: String, serverKey: String, digest: String) {
    self.caCertificate = caCertificate
    self.serverCertificate = serverCertificate
    self.serverKey = serverKey
    self.digest = digest
  }

  /// What `apphost config` shows when the files are not made yet.
  package static func placeholder(state: StateDirectory) -> TLSFiles {
    let store = ProjectCertificates(state: state)
    return TLSFiles(
      caCertificate: store.caCertificatePath, serverCertificate: store.serverCertificatePath,
      serverKey: store.serverKeyPath, digest: "not-made-yet")
  }
}

/// `.apphost/tls/`: a certificate authority made for this project alone (ECDSA P-256, ten years) and one
/// server certificate it signs for every TLS cache of the project (two years, renewed 30 days before it
/// ends): `localhost`, 127.0.0.1, ::1 and the caches' names on the project network. Keys are 0600 and
/// nothing is added to any trust store: clients are given the CA file (`NAME_TLS_CA_FILE`).
///
/// Made with swift-certificates and swift-crypto, not the openssl CLI. Kept from run to run, like the
/// generated passwords, so that clients configured with the CA keep working; a server certificate that
/// lacks a name now needed is made again from the same CA.
package struct ProjectCertificates: Sendable {
  package var state: StateDirectory

  package init(state: StateDirectory) {
    self.state = state
  }

  package var directory: String { (state.path as NSString).appendingPathComponent("tls") }
  package var caCertificatePath: String { (directory as NSString).appendingPathComponent("ca.crt") }
  package var caKeyPath: String { (directory as NSString).appendingPathComponent("ca.key") }
  package var serverCertificatePath: String { (directory as NSString).appendingPathComponent("server.crt") }
  package var serverKeyPath: String { (directory as NSString).appendingPathComponent("server.key") }
  /// The files a published output copies (never the CA's key), by name in this folder.
  package static let publishedFiles = ["ca.crt", "server.crt", "server.key"]

  static let caLifetime: TimeInterval = 10 * 365 * 86_400
  static let serverLifetime: TimeInterval = 2 * 365 * 86_400
  /// A certificate this close to its end is made again.
  static let renewBefore: TimeInterval = 30 * 86_400

  /// The names every server certificate carries besides the caches' own.
  package static let standardNames = ["localhost"]
  package static let addresses: [[UInt8]] = [[127, 0, 0, 1], [UInt8](repeating: 0, count: 15) + [1]]

  /// The CA and a server certificate valid for `serverNames` (and `standardNames`, 127.0.0.1, ::1), made
  /// or renewed as needed.
  package func ensure(serverNames: [String], now: Date = Date()) throws(AppHostError) -> TLSFiles {
    // Two apphost processes at once make one set of files.
    try state.withLock("tls") { () throws(AppHostError) -> TLSFiles in
      try make(serverNames: serverNames, now: now)
    }
  }

  private func make(serverNames: [String], now: Date) throws(AppHostError) -> TLSFiles {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST {
      throw .stateUnwritable(path: directory, reason: String(cString: strerror(errno)))
    }
    do {
      let (caCertificate, caKey) = try authority(now: now)
      let server = try serverCertificate(names: serverNames, issuer: caCertificate, issuerKey: caKey, now: now)
      var hasher = ConfigHasher()
      hasher.combine(try caCertificate.serializeAsPEM().pemString)
      hasher.combine(try server.serializeAsPEM().pemString)
      return TLSFiles(
        caCertificate: caCertificatePath, serverCertificate: serverCertificatePath, serverKey: serverKeyPath,
        digest: hasher.hex)
    } catch let error as AppHostError {
      throw error
    } catch {
      throw .stateUnwritable(path: directory, reason: "the certificates could not be made: \(error)")
    }
  }

  /// The stored CA, or a new one when there is none, it cannot be read, or it is about to end.
  private func authority(now: Date) throws -> (Certificate, P256.Signing.PrivateKey) {
    if let certificate = readCertificate(caCertificatePath), let key = readKey(caKeyPath),
      certificate.publicKey == Certificate.PublicKey(key.publicKey),
      certificate.notValidAfter > now.addingTimeInterval(Self.renewBefore)
    {
      return (certificate, key)
    }
    let key = P256.Signing.PrivateKey()
    let name = try DistinguishedName {
      OrganizationName("apphost")
      CommonName("apphost CA for \((state.path as NSString).deletingLastPathComponent)".prefix(64).description)
    }
    let publicKey = Certificate.PublicKey(key.publicKey)
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
      notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Self.caLifetime),
      issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        SubjectKeyIdentifier(hash: publicKey)
      }, issuerPrivateKey: Certificate.PrivateKey(key))
    // The key first: a CA certificate on disk always has its key beside it.
    try writeFileAtomically(caKeyPath, contents: Array(key.pemRepresentation.utf8), mode: 0o600)
    try writeFileAtomically(
      caCertificatePath, contents: Array(try certificate.serializeAsPEM().pemString.utf8), mode: 0o644)
    // A server certificate from an earlier CA is no longer valid.
    unlink(serverCertificatePath)
    return (certificate, key)
  }

  /// The stored server certificate when it is the CA's, has its key beside it, names everything needed and
  /// is not about to end; otherwise a new one for the names it had and the ones needed now.
  private func serverCertificate(
    names: [String], issuer: Certificate, issuerKey: P256.Signing.PrivateKey, now: Date
  ) throws -> Certificate {
    let wanted = Set(Self.standardNames + names)
    var kept: Set<String> = []
    if let certificate = readCertificate(serverCertificatePath), let key = readKey(serverKeyPath),
      certificate.issuer == issuer.subject,
      certificate.publicKey == Certificate.PublicKey(key.publicKey),
      issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    {
      kept = Set(Self.dnsNames(of: certificate))
      if wanted.isSubset(of: kept), certificate.notValidAfter > now.addingTimeInterval(Self.renewBefore) {
        return certificate
      }
    }
    let key = P256.Signing.PrivateKey()
    let publicKey = Certificate.PublicKey(key.publicKey)
    let dnsNames = wanted.union(kept).sorted()
    let alternativeNames =
      dnsNames.map { GeneralName.dnsName($0) }
      + Self.addresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
      notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Self.serverLifetime),
      issuer: issuer.subject,
      subject: try DistinguishedName {
        OrganizationName("apphost")
        CommonName("localhost")
      }, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([.serverAuth, .clientAuth])
        SubjectAlternativeNames(alternativeNames)
        SubjectKeyIdentifier(hash: publicKey)
        if let authority = try? issuer.extensions.subjectKeyIdentifier {
          AuthorityKeyIdentifier(keyIdentifier: authority.keyIdentifier)
        }
      }, issuerPrivateKey: Certificate.PrivateKey(issuerKey))
    try writeFileAtomically(serverKeyPath, contents: Array(key.pemRepresentation.utf8), mode: 0o600)
    try writeFileAtomically(
      serverCertificatePath, contents: Array(try certificate.serializeAsPEM().pemString.utf8), mode: 0o644)
    return certificate
  }

  /// The DNS names a certificate is valid for.
  package static func dnsNames(of certificate: Certificate) -> [String] {
    guard let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
    return names.compactMap { name in
      if case .dnsName(let text) = name { return text }
      return nil
    }
  }

  private func readCertificate(_ path: String) -> Certificate? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return try? Certificate(pemEncoded: String(decoding: data, as: UTF8.self))
  }

  private func readKey(_ path: String) -> P256.Signing.PrivateKey? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return try? P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
  }
}
