import ArgumentParser
import Media

extension ResizeMode: ExpressibleByArgument {}
