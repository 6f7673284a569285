using EventflowDb.Client;

namespace BankAccount;

/// <summary>Runs a decision against an account and appends its outcome with optimistic concurrency.</summary>
public sealed class AccountCommands(EventflowDbClient client, EventTypeMap map, TextWriter log)
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

                foreach (var recorded in stored)
                {
                    account.Apply(map.Deserialize(recorded));
                }

                return account;
            }
            catch (WrongExpectedVersionException conflict) when (attempt < MaxAttempts)
            {
                log.WriteLine($"Conflict: expected {conflict.ExpectedVersion}, stream is at {conflict.ActualVersion}; reloading and retrying");
                account = await Account.LoadAsync(client, map, accountId);
            }
        }
    }
}
