import AppHostKit
import ArgumentParser
import Foundation

extension PublishTarget: ExpressibleByArgument {}

extension AppHost {
  struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "publish",
      abstract: "Write files that run the same caches and UIs on docker compose or Kubernetes.",
      discussion: """
        compose: docker-compose.yml, and an env file per service that needs a password (env_file: \
        passwords never in the compose file, nor on a `podman run` command line):

          apphost publish compose -o deploy && docker compose -f deploy/docker-compose.yml up -d

        kubernetes: a Secret per password, per cache a StatefulSet with a PersistentVolumeClaim, its headless \
        Service and a client Service, Deployments and Services for the UIs, requests and limits and a \
        restrictive securityContext on every container, and a kustomization.yaml:

          apphost publish kubernetes -o k8s --namespace shop && kubectl apply -k k8s

        Passwords are the ones apphost uses, volumes keep apphost's names (compose), ports are the ones \
        apphost uses (a fixed hostPort, or the one it remembered; none otherwise), readiness checks PING \
        after AUTH. Programs become services (Deployments) when they name an "image". The files holding \
        passwords are written with mode 0600 and listed in the folder's .gitignore. Runs nothing.
        """)

    @OptionGroup var options: ManifestOptions

    @Argument(help: "compose or kubernetes.")
    var target: PublishTarget

    @Option(
      name: .shortAndLong, help: ArgumentHelp("The folder to write into (default: ./publish/TARGET).", valueName: "dir")
    )
    var output: String?

    @Option(
      help: ArgumentHelp("kubernetes: the namespace of every object (and a Namespace object).", valueName: "name"))
    var namespace: String?

    func validate() throws {
      if let namespace {
        guard target == .kubernetes else { throw ValidationError("--namespace is for `publish kubernetes`") }
        guard namespace.wholeMatch(of: /[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/) != nil else {
          throw ValidationError(
            "the namespace \"\(namespace)\" is not valid: use lower-case letters, digits and '-', starting and ending "
              + "with a letter or digit, at most 63 characters")
        }
      }
    }

    func run() async throws {
      let console = Console()
      let written = try reportingFailures(console) { () throws(AppHostError) -> (String, [PublishedFile], [String]) in
        let environment = ProcessInfo.processInfo.environment
        let project = try Project.load(file: options.file)
        console.warnings(project.loaded)
        let directory = resolvePath(
          output ?? "publish/\(target.rawValue)", relativeTo: FileManager.default.currentDirectoryPath)
        let files = try Publisher.files(
          target, project: project, environment: environment, outputDirectory: directory, namespace: namespace)
        let removed = try Publisher.write(files, to: directory)
        return (directory, files, removed)
      }
      for name in written.2 {
        console.output(
          "removed \((written.0 as NSString).appendingPathComponent(name)) (written by an earlier publish, no longer part of it)"
        )
      }
      for file in written.1 {
        console.output(
          "wrote \((written.0 as NSString).appendingPathComponent(file.name))\(file.secret ? " (\(file.name.hasSuffix(".key") ? "a private key" : "passwords"); mode 0600)" : "")"
        )
      }
    }
  }
}
