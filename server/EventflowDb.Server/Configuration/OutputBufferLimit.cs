namespace EventflowDb.Server.Configuration;

/// <summary>
/// One class of Redis's <c>client-output-buffer-limit</c>: a client whose unsent output passes
/// <see cref="HardBytes"/>, or stays above <see cref="SoftBytes"/> for <see cref="SoftSeconds"/> seconds,
/// is disconnected. Zero turns a bound off.
/// </summary>
internal readonly record struct OutputBufferLimit(long HardBytes, long SoftBytes, int SoftSeconds)
{
    /// <summary>As CONFIG GET shows it: <c>hard soft seconds</c> in bytes.</summary>
    public override string ToString() => FormattableString.Invariant($"{HardBytes} {SoftBytes} {SoftSeconds}");
}
