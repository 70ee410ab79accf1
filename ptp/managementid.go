package ptp

import (
	"fmt"
	"strconv"
	"strings"
)

// ManagementID is the managementId of IEEE 1588-2019 Table 59, and
// linuxptp's implementation-specific IDs from 0xC000.
type ManagementID uint16

// managementId values: the standard's, then linuxptp's _NP ones.
const (
	MIDNullManagement                   ManagementID = 0x0000
	MIDClockDescription                 ManagementID = 0x0001
	MIDUserDescription                  ManagementID = 0x0002
	MIDSaveInNonVolatileStorage         ManagementID = 0x0003
	MIDResetNonVolatileStorage          ManagementID = 0x0004
	MIDInitialize                       ManagementID = 0x0005
	MIDFaultLog                         ManagementID = 0x0006
	MIDFaultLogReset                    ManagementID = 0x0007
	MIDDefaultDataSet                   ManagementID = 0x2000
	MIDCurrentDataSet                   ManagementID = 0x2001
	MIDParentDataSet                    ManagementID = 0x2002
	MIDTimePropertiesDataSet            ManagementID = 0x2003
	MIDPortDataSet                      ManagementID = 0x2004
	MIDPriority1                        ManagementID = 0x2005
	MIDPriority2                        ManagementID = 0x2006
	MIDDomain                           ManagementID = 0x2007
	MIDSlaveOnly                        ManagementID = 0x2008
	MIDLogAnnounceInterval              ManagementID = 0x2009
	MIDAnnounceReceiptTimeout           ManagementID = 0x200a
	MIDLogSyncInterval                  ManagementID = 0x200b
	MIDVersionNumber                    ManagementID = 0x200c
	MIDEnablePort                       ManagementID = 0x200d
	MIDDisablePort                      ManagementID = 0x200e
	MIDTime                             ManagementID = 0x200f
	MIDClockAccuracy                    ManagementID = 0x2010
	MIDUTCProperties                    ManagementID = 0x2011
	MIDTraceabilityProperties           ManagementID = 0x2012
	MIDTimescaleProperties              ManagementID = 0x2013
	MIDUnicastNegotiationEnable         ManagementID = 0x2014
	MIDPathTraceList                    ManagementID = 0x2015
	MIDPathTraceEnable                  ManagementID = 0x2016
	MIDGrandmasterClusterTable          ManagementID = 0x2017
	MIDUnicastMasterTable               ManagementID = 0x2018
	MIDUnicastMasterMaxTableSize        ManagementID = 0x2019
	MIDAcceptableMasterTable            ManagementID = 0x201a
	MIDAcceptableMasterTableEnabled     ManagementID = 0x201b
	MIDAcceptableMasterMaxTableSize     ManagementID = 0x201c
	MIDAlternateMaster                  ManagementID = 0x201d
	MIDAlternateTimeOffsetEnable        ManagementID = 0x201e
	MIDAlternateTimeOffsetName          ManagementID = 0x201f
	MIDAlternateTimeOffsetMaxKey        ManagementID = 0x2020
	MIDAlternateTimeOffsetProperties    ManagementID = 0x2021
	MIDExternalPortConfigurationEnabled ManagementID = 0x3000
	MIDMasterOnly                       ManagementID = 0x3001
	MIDHoldoverUpgradeEnable            ManagementID = 0x3002
	MIDExtPortConfigPortDataSet         ManagementID = 0x3003
	MIDTransparentClockDefaultDataSet   ManagementID = 0x4000
	MIDTransparentClockPortDataSet      ManagementID = 0x4001
	MIDPrimaryDomain                    ManagementID = 0x4002
	MIDDelayMechanism                   ManagementID = 0x6000
	MIDLogMinPdelayReqInterval          ManagementID = 0x6001

	MIDTimeStatusNP               ManagementID = 0xc000
	MIDGrandmasterSettingsNP      ManagementID = 0xc001
	MIDPortDataSetNP              ManagementID = 0xc002
	MIDSubscribeEventsNP          ManagementID = 0xc003
	MIDPortPropertiesNP           ManagementID = 0xc004
	MIDPortStatsNP                ManagementID = 0xc005
	MIDSynchronizationUncertainNP ManagementID = 0xc006
	MIDPortServiceStatsNP         ManagementID = 0xc007
	MIDUnicastMasterTableNP       ManagementID = 0xc008
	MIDPortHWClockNP              ManagementID = 0xc009
	// MIDVirtualClockNP is roko-ptpd's own: the virtual clock's true
	// error against CLOCK_REALTIME. It sits at the top of the
	// implementation-specific range, away from linuxptp's (0xC000 up).
	MIDVirtualClockNP                  ManagementID = 0xdf00
	MIDTimeSourceNP                    ManagementID = 0xdf01 // roko-ptpd's own: a grandmaster's time source
	MIDPowerProfileSettingsNP          ManagementID = 0xc00a
	MIDCMLDSInfoNP                     ManagementID = 0xc00b
	MIDPortCorrectionsNP               ManagementID = 0xc00c
	MIDExternalGrandmasterPropertiesNP ManagementID = 0xc00d
)

// ManagementScope says whether a management ID addresses the clock or a
// port (IEEE 1588-2019 Table 59, "applies to"); linuxptp answers clock IDs
// from the clock and port IDs from each addressed port.
type ManagementScope uint8

// Scopes.
const (
	ScopeClock ManagementScope = iota + 1
	ScopePort
)

type midInfo struct {
	name  string
	scope ManagementScope
}

var midTable = map[ManagementID]midInfo{
	MIDNullManagement:                   {"NULL_MANAGEMENT", ScopePort},
	MIDClockDescription:                 {"CLOCK_DESCRIPTION", ScopePort},
	MIDUserDescription:                  {"USER_DESCRIPTION", ScopeClock},
	MIDSaveInNonVolatileStorage:         {"SAVE_IN_NON_VOLATILE_STORAGE", ScopeClock},
	MIDResetNonVolatileStorage:          {"RESET_NON_VOLATILE_STORAGE", ScopeClock},
	MIDInitialize:                       {"INITIALIZE", ScopeClock},
	MIDFaultLog:                         {"FAULT_LOG", ScopeClock},
	MIDFaultLogReset:                    {"FAULT_LOG_RESET", ScopeClock},
	MIDDefaultDataSet:                   {"DEFAULT_DATA_SET", ScopeClock},
	MIDCurrentDataSet:                   {"CURRENT_DATA_SET", ScopeClock},
	MIDParentDataSet:                    {"PARENT_DATA_SET", ScopeClock},
	MIDTimePropertiesDataSet:            {"TIME_PROPERTIES_DATA_SET", ScopeClock},
	MIDPortDataSet:                      {"PORT_DATA_SET", ScopePort},
	MIDPriority1:                        {"PRIORITY1", ScopeClock},
	MIDPriority2:                        {"PRIORITY2", ScopeClock},
	MIDDomain:                           {"DOMAIN", ScopeClock},
	MIDSlaveOnly:                        {"SLAVE_ONLY", ScopeClock},
	MIDLogAnnounceInterval:              {"LOG_ANNOUNCE_INTERVAL", ScopePort},
	MIDAnnounceReceiptTimeout:           {"ANNOUNCE_RECEIPT_TIMEOUT", ScopePort},
	MIDLogSyncInterval:                  {"LOG_SYNC_INTERVAL", ScopePort},
	MIDVersionNumber:                    {"VERSION_NUMBER", ScopePort},
	MIDEnablePort:                       {"ENABLE_PORT", ScopePort},
	MIDDisablePort:                      {"DISABLE_PORT", ScopePort},
	MIDTime:                             {"TIME", ScopeClock},
	MIDClockAccuracy:                    {"CLOCK_ACCURACY", ScopeClock},
	MIDUTCProperties:                    {"UTC_PROPERTIES", ScopeClock},
	MIDTraceabilityProperties:           {"TRACEABILITY_PROPERTIES", ScopeClock},
	MIDTimescaleProperties:              {"TIMESCALE_PROPERTIES", ScopeClock},
	MIDUnicastNegotiationEnable:         {"UNICAST_NEGOTIATION_ENABLE", ScopePort},
	MIDPathTraceList:                    {"PATH_TRACE_LIST", ScopeClock},
	MIDPathTraceEnable:                  {"PATH_TRACE_ENABLE", ScopeClock},
	MIDGrandmasterClusterTable:          {"GRANDMASTER_CLUSTER_TABLE", ScopeClock},
	MIDUnicastMasterTable:               {"UNICAST_MASTER_TABLE", ScopePort},
	MIDUnicastMasterMaxTableSize:        {"UNICAST_MASTER_MAX_TABLE_SIZE", ScopePort},
	MIDAcceptableMasterTable:            {"ACCEPTABLE_MASTER_TABLE", ScopeClock},
	MIDAcceptableMasterTableEnabled:     {"ACCEPTABLE_MASTER_TABLE_ENABLED", ScopePort},
	MIDAcceptableMasterMaxTableSize:     {"ACCEPTABLE_MASTER_MAX_TABLE_SIZE", ScopeClock},
	MIDAlternateMaster:                  {"ALTERNATE_MASTER", ScopePort},
	MIDAlternateTimeOffsetEnable:        {"ALTERNATE_TIME_OFFSET_ENABLE", ScopeClock},
	MIDAlternateTimeOffsetName:          {"ALTERNATE_TIME_OFFSET_NAME", ScopeClock},
	MIDAlternateTimeOffsetMaxKey:        {"ALTERNATE_TIME_OFFSET_MAX_KEY", ScopeClock},
	MIDAlternateTimeOffsetProperties:    {"ALTERNATE_TIME_OFFSET_PROPERTIES", ScopeClock},
	MIDExternalPortConfigurationEnabled: {"EXTERNAL_PORT_CONFIGURATION_ENABLED", ScopeClock},
	MIDMasterOnly:                       {"MASTER_ONLY", ScopePort},
	MIDHoldoverUpgradeEnable:            {"HOLDOVER_UPGRADE_ENABLE", ScopeClock},
	MIDExtPortConfigPortDataSet:         {"EXT_PORT_CONFIG_PORT_DATA_SET", ScopePort},
	MIDTransparentClockDefaultDataSet:   {"TRANSPARENT_CLOCK_DEFAULT_DATA_SET", ScopeClock},
	MIDTransparentClockPortDataSet:      {"TRANSPARENT_CLOCK_PORT_DATA_SET", ScopePort},
	MIDPrimaryDomain:                    {"PRIMARY_DOMAIN", ScopeClock},
	MIDDelayMechanism:                   {"DELAY_MECHANISM", ScopePort},
	MIDLogMinPdelayReqInterval:          {"LOG_MIN_PDELAY_REQ_INTERVAL", ScopePort},
	MIDTimeStatusNP:                     {"TIME_STATUS_NP", ScopeClock},
	MIDGrandmasterSettingsNP:            {"GRANDMASTER_SETTINGS_NP", ScopeClock},
	MIDPortDataSetNP:                    {"PORT_DATA_SET_NP", ScopePort},
	MIDSubscribeEventsNP:                {"SUBSCRIBE_EVENTS_NP", ScopeClock},
	MIDPortPropertiesNP:                 {"PORT_PROPERTIES_NP", ScopePort},
	MIDPortStatsNP:                      {"PORT_STATS_NP", ScopePort},
	MIDSynchronizationUncertainNP:       {"SYNCHRONIZATION_UNCERTAIN_NP", ScopeClock},
	MIDPortServiceStatsNP:               {"PORT_SERVICE_STATS_NP", ScopePort},
	MIDUnicastMasterTableNP:             {"UNICAST_MASTER_TABLE_NP", ScopePort},
	MIDPortHWClockNP:                    {"PORT_HWCLOCK_NP", ScopePort},
	MIDVirtualClockNP:                   {"VIRTUAL_CLOCK_NP", ScopeClock},
	MIDTimeSourceNP:                     {"TIME_SOURCE_NP", ScopeClock},
	MIDPowerProfileSettingsNP:           {"POWER_PROFILE_SETTINGS_NP", ScopePort},
	MIDCMLDSInfoNP:                      {"CMLDS_INFO_NP", ScopePort},
	MIDPortCorrectionsNP:                {"PORT_CORRECTIONS_NP", ScopePort},
	MIDExternalGrandmasterPropertiesNP:  {"EXTERNAL_GRANDMASTER_PROPERTIES_NP", ScopeClock},
}

// String returns the ID's name as pmc spells it ("CURRENT_DATA_SET").
func (id ManagementID) String() string {
	if i, ok := midTable[id]; ok {
		return i.name
	}
	return "MANAGEMENT_ID_0x" + strconv.FormatUint(uint64(id), 16)
}

// Known reports whether the ID is one this package names.
func (id ManagementID) Known() bool { _, ok := midTable[id]; return ok }

// Scope says whether the ID addresses the clock or a port; 0 for an
// unknown ID.
func (id ManagementID) Scope() ManagementScope { return midTable[id].scope }

// ParseManagementID finds the ID named s, case-insensitively, accepting a
// unique prefix as pmc does ("current" finds CURRENT_DATA_SET). An exact
// name always wins over a longer one it is a prefix of.
func ParseManagementID(s string) (ManagementID, error) {
	u := strings.ToUpper(s)
	var found []ManagementID
	for id, i := range midTable {
		if i.name == u {
			return id, nil
		}
		if u != "" && strings.HasPrefix(i.name, u) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return 0, fmt.Errorf("ptp: no management ID named %q", s)
	}
	names := make([]string, len(found))
	for i, id := range found {
		names[i] = id.String()
	}
	return 0, fmt.Errorf("ptp: management ID %q is ambiguous: %s", s, strings.Join(names, ", "))
}

// NewManagementData returns a new, zero value of the data type that carries
// id's dataField, or nil when the codec has no type for id (the data is then
// passed on as raw octets).
func NewManagementData(id ManagementID) ManagementData {
	switch id {
	case MIDNullManagement, MIDEnablePort, MIDDisablePort, MIDSaveInNonVolatileStorage,
		MIDResetNonVolatileStorage, MIDInitialize, MIDFaultLogReset:
		return NullManagement{}
	case MIDClockDescription:
		return new(ClockDescription)
	case MIDUserDescription:
		return new(UserDescription)
	case MIDDefaultDataSet:
		return new(DefaultDataSet)
	case MIDCurrentDataSet:
		return new(CurrentDataSet)
	case MIDParentDataSet:
		return new(ParentDataSet)
	case MIDTimePropertiesDataSet:
		return new(TimePropertiesDataSet)
	case MIDPortDataSet:
		return new(PortDataSet)
	case MIDTimescaleProperties:
		return new(TimescaleProperties)
	case MIDUTCProperties:
		return new(UTCProperties)
	case MIDTimeStatusNP:
		return new(TimeStatusNP)
	case MIDGrandmasterSettingsNP:
		return new(GrandmasterSettingsNP)
	case MIDPortDataSetNP:
		return new(PortDataSetNP)
	case MIDSubscribeEventsNP:
		return new(SubscribeEventsNP)
	case MIDPortPropertiesNP:
		return new(PortPropertiesNP)
	case MIDPortStatsNP:
		return new(PortStatsNP)
	case MIDPortServiceStatsNP:
		return new(PortServiceStatsNP)
	case MIDPortHWClockNP:
		return new(PortHWClockNP)
	case MIDUnicastMasterTableNP:
		return new(UnicastMasterTableNP)
	case MIDVirtualClockNP:
		return new(VirtualClockNP)
	case MIDTimeSourceNP:
		return new(TimeSourceNP)
	}
	for _, d := range DatumIDs {
		if d == id {
			return &Datum{ID: id}
		}
	}
	return nil
}
