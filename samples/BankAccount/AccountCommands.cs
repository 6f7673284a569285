using EventflowDb.Client;

namespace BankAccount;

/// <summary>
/// Runs a decision against an account and appends its outcome with optimistic concurrency; saves a snapshot of the
/// account every <paramref name="snapshotEvery"/> events (0: never) and closes accounts by deleting their stream.
/// </summary>
public sealed class AccountCommands(EventflowDbClient client, EventTypeMap map, TextWriter log, int snapshotEvery = 0)
{
    private const int MaxAttempts = 5;

    /// <summary>
    /// Loads the account (unless <paramref name="account"/> is given, possibly stale), decides, and appends the new event
    /// with <c>ExpectedVersion.Exact(account.Version)</c>. When another writer got there first the server answers
    /// WRONGVERSION: reload and decide again. A <paramref name="commandId"/> becomes the event's message id, so that
    /// running the same command twice (a retry after a time-out, a redelivered message) stores it once.
    /// </summary>
    public async Task<Account> HandleAsync(string accountId, Func<Account, object> decide, string? commandId = null, Account? account = null)
    {
        account ??= await Account.LoadAsync(client, map, accountId);
        for (int attempt = 1; ; attempt++)
        {
            var data = map.ToEventData(decide(account)) with { MessageId = commandId };
            try
            {
                var stored = await client.AppendAsync(accountId, ExpectedVersion.Exact(account.Version), data);
                if (stored[0].Version < account.Version)
                {
                    log.WriteLine($"Duplicate: command '{commandId}' was already stored as version {stored[0].Version}; nothing new was written");
                    return await Account.LoadAsync(client, map, accountId);
                }

                long before = account.Version;
                foreach (var recorded in stored)
                {
                    account.Apply(map.Deserialize(recorded), recorded.Version);
                }

                await SnapshotIfDueAsync(account, before);
                return account;
            }
            catch (WrongExpectedVersionException conflict) when (attempt < MaxAttempts)
            {
                log.WriteLine($"Conflict: expected {conflict.ExpectedVersion}, stream is at {conflict.ActualVersion}; reloading and retrying");
                account = await Account.LoadAsync(client, map, accountId);
            }
        }
    }

    /// <summary>
    /// Closes an account whose balance is zero by deleting its stream, with the version it was checked at: a deposit that
    /// lands in between makes the server answer WRONGVERSION, and the check runs again on the reloaded account.
    /// The deleted stream then reads as empty (and its snapshot is gone) but keeps its versions: anything appended to it
    /// later would have to expect <c>StreamMetadata.NextVersion</c>, not 0.
    /// </summary>
    public async Task CloseAsync(string accountId)
    {
        for (int attempt = 1; ; attempt++)
        {
            var account = await Account.LoadAsync(client, map, accountId);
            account.EnsureCanClose();
            try
            {
                await client.DeleteStreamAsync(accountId, ExpectedVersion.Exact(account.Version));
                log.WriteLine($"Closed {accountId} at version {account.Version}: its stream is deleted");
                return;
            }
            catch (WrongExpectedVersionException conflict) when (attempt < MaxAttempts)
            {
                log.WriteLine($"Conflict while closing: stream is at {conflict.ActualVersion}; reloading and checking again");
            }
        }
    }

    /// <summary>Saves a snapshot when the append took the account across a multiple of <c>snapshotEvery</c> events.</summary>
    private async Task SnapshotIfDueAsync(Account account, long versionBefore)
    {
        if (snapshotEvery > 0 && account.Version / snapshotEvery > versionBefore / snapshotEvery)
        {
            await client.SaveSnapshotAsync(account.Id, account.Version - 1, account.ToState(), BankJsonContext.Default.AccountState);
            log.WriteLine($"Snapshot saved at version {account.Version - 1}");
        }
    }
}
