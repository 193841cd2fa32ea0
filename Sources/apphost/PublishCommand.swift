import AppHostKit
import ArgumentParser
import Foundation

extension PublishTarget: ExpressibleByArgument {}

extension AppHost {
  struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write files that run the same caches and UIs on docker compose or Kubernetes.",
      discussion: """
        compose: docker-compose.yml and .env (the passwords, which the compose file only names):

          apphost publish compose -o deploy && docker compose -f deploy/docker-compose.yml up -d

        kubernetes: a Secret per password, a StatefulSet with a PersistentVolumeClaim and a Service per \
        cache, Deployments and Services for the UIs:

          apphost publish kubernetes -o k8s && kubectl apply -f k8s

        Passwords are the ones apphost uses, volumes keep apphost's names (compose), readiness checks PING \
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

    func run() async throws {
      let console = Console()
      let written = try reportingFailures(console) { () throws(AppHostError) -> (String, [PublishedFile]) in
        let environment = ProcessInfo.processInfo.environment
        let project = try Project.load(file: options.file)
        console.warnings(project.loaded)
        let plan = try project.plan(environment: environment)
        let directory = resolvePath(
          output ?? "publish/\(target.rawValue)", relativeTo: FileManager.default.currentDirectoryPath)
        let files = Publisher.files(target, plan: plan, manifest: project.loaded.manifest, outputDirectory: directory)
        try Publisher.write(files, to: directory)
        return (directory, files)
      }
      for file in written.1 {
        console.output(
          "wrote \((written.0 as NSString).appendingPathComponent(file.name))\(file.secret ? " (passwords; mode 0600)" : "")"
        )
      }
    }
  }
}
