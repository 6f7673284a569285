namespace EventflowDb.Server.Security;

/// <summary>
/// Who runs a request, as the ACL checks see it: a RESP connection (<see cref="Network.ClientSession"/>) or one HTTP
/// request. <see cref="StreamPermissions"/> and <see cref="CommandRights"/> take it, so both transports apply the same
/// rules and record their refusals in the same <c>ACL LOG</c>.
/// </summary>
internal interface IAclSubject
{
    /// <summary>The user the request runs as.</summary>
    AclUser User { get; }

    /// <summary>Records a refusal in <c>ACL LOG</c> with this client's user (or <paramref name="userName"/>) and description.</summary>
    void RecordRefusal(AclLogReason reason, string objectName, string? userName = null);
}
