/// Pulling the images a plan runs: `apphost pull` pulls every one; `up` pulls the missing ones before its
/// readiness clock starts, so that a slow first pull does not eat the time given to the servers to answer.
package struct ImagePull: Sendable {
  package var engine: any ContainerEngine
  package var events: EventSink

  package init(engine: any ContainerEngine, events: @escaping EventSink) {
    self.engine = engine
    self.events = events
  }

  /// One image and the resources that run it (two caches of one type share an image).
  package struct Image: Sendable, Equatable {
    package var reference: String
    package var resources: [String]
    /// The name progress is shown under: the first resource that runs it.
    package var shownAs: String { resources.first ?? reference }
  }

  /// The images of these containers, each once, in the containers' order.
  package static func images(of containers: [ContainerPlan]) -> [Image] {
    var images: [Image] = []
    for container in containers {
      if let index = images.firstIndex(where: { $0.reference == container.image }) {
        images[index].resources.append(container.resource)
      } else {
        images.append(Image(reference: container.image, resources: [container.resource]))
      }
    }
    return images
  }

  /// Pulls the images of `containers` (only those not on this machine when `onlyMissing`), all at
  /// once; every pull runs to its end, then the first failure is thrown. Returns the images pulled.
  @discardableResult
  package func pull(_ containers: [ContainerPlan], onlyMissing: Bool) async throws(AppHostError) -> [String] {
    let engine = self.engine
    let events = self.events
    var wanted = Self.images(of: containers)
    if engine.flavor == .native {
      // Native servers run from this machine: the one line that says so, per server.
      for image in wanted where !onlyMissing {
        let name = containers.first { $0.resource == image.shownAs }?.madeFrom(on: .native) ?? image.reference
        try await engine.pull(name, resource: image.shownAs) { line in
          events(.pullProgress(resource: image.shownAs, line: line))
        }
      }
      return []
    }
    if onlyMissing {
      var missing: [Image] = []
      for image in wanted where try await !engine.hasImage(image.reference) { missing.append(image) }
      wanted = missing
    }
    guard !wanted.isEmpty else { return [] }
    let failures = await withTaskGroup(of: AppHostError?.self) { group in
      for image in wanted {
        group.addTask {
          let began = ContinuousClock.now
          events(.pulling(resource: image.shownAs, image: image.reference))
          do throws(AppHostError) {
            try await engine.pull(image.reference, resource: image.shownAs) { line in
              guard !line.isEmpty else { return }
              events(.pullProgress(resource: image.shownAs, line: line))
            }
            events(
              .pulled(resource: image.shownAs, image: image.reference, seconds: (ContinuousClock.now - began).seconds))
            return nil
          } catch {
            return error
          }
        }
      }
      var failures: [AppHostError] = []
      for await failure in group { if let failure { failures.append(failure) } }
      return failures
    }
    if let cancelled = failures.first(where: { if case .cancelled = $0 { true } else { false } }) { throw cancelled }
    if let first = failures.first { throw first }
    return wanted.map(\.reference)
  }
}
