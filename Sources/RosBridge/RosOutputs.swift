/// All ROS output files of one team, in a fixed order; the same context gives the same bytes.
public enum RosOutputs {
    public static func render(_ c: RosContext) -> [RenderedFile] {
        [
            RenderedFile(name: RosEnvironment.fileName, contents: RosEnvironment.render(c)),
            RenderedFile(name: CycloneDDSConfig.fileName, contents: CycloneDDSConfig.render(c)),
            RenderedFile(name: FastDDSProfile.fileName, contents: FastDDSProfile.render(c)),
            RenderedFile(name: HostsFile.fileName, contents: HostsFile.render(c)),
        ] + zenoh(c) + FastDDSDiscovery.files(c)
    }

    /// A laptop runs no Zenoh router, so it gets no router file.
    private static func zenoh(_ c: RosContext) -> [RenderedFile] {
        var files: [RenderedFile] = []
        if ZenohConfig.runsRouter(c) {
            files.append(RenderedFile(name: ZenohConfig.routerFileName, contents: ZenohConfig.renderRouter(c)))
        }
        files.append(RenderedFile(name: ZenohConfig.sessionFileName, contents: ZenohConfig.renderSession(c)))
        return files
    }
}
