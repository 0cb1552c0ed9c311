/// The engine's version, printed by `img2vid --version`.
public enum Img2VidVersion {
    public static let string = "0.1.0"
}
