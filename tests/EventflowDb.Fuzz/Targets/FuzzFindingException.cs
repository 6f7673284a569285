namespace EventflowDb.Fuzz;

/// <summary>
/// An input broke a property the target checks (as opposed to an exception escaping the code under test).
/// Either way the harness lets it escape, and afl-fuzz records the input as a crash.
/// </summary>
public sealed class FuzzFindingException : Exception
{
    public FuzzFindingException()
    {
    }

    public FuzzFindingException(string message)
        : base(message)
    {
    }

    public FuzzFindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
