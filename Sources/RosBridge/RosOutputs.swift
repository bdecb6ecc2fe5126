/// All ROS output files of one team, in a fixed order; the same context gives the same bytes.
public enum RosOutputs {
    public static func render(_ c: RosContext) -> [RenderedFile] {
        [
            RenderedFile(name: RosEnvironment.fileName, contents: RosEnvironment.render(c)),
            RenderedFile(name: CycloneDDSConfig.fileName, contents: CycloneDDSConfig.render(c)),
            RenderedFile(name: FastDDSProfile.fileName, contents: FastDDSProfile.render(c)),
            RenderedFile(name: HostsFile.fileName, contents: HostsFile.render(c)),
        ]
    }
}
