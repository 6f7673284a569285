using System.Text.Json;
using System.Text.Json.Serialization;

namespace BankAccount;

/// <summary>The account was opened.</summary>
/// <param name="Owner">The account holder.</param>
public sealed record AccountOpened(string Owner);

/// <summary>Money was paid in.</summary>
/// <param name="Amount">The amount, positive.</param>
public sealed record MoneyDeposited(decimal Amount);

/// <summary>Money was paid out.</summary>
/// <param name="Amount">The amount, positive.</param>
public sealed record MoneyWithdrawn(decimal Amount);

/// <summary>The state of an account, saved as a snapshot of its stream.</summary>
/// <param name="Owner">The account holder, null until opened.</param>
/// <param name="Balance">The balance.</param>
public sealed record AccountState(string? Owner, decimal Balance);

/// <summary>Source-generated JSON contracts of the events (camelCase, no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AccountOpened))]
[JsonSerializable(typeof(MoneyDeposited))]
[JsonSerializable(typeof(MoneyWithdrawn))]
[JsonSerializable(typeof(AccountState))]
public sealed partial class BankJsonContext : JsonSerializerContext;
