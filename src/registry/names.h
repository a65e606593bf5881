/* names.h — tables for gen.c: surnames with their weights, characters of
 * given names, shop words and venue kinds.  Internal to registry/ and
 * included by gen.c only.
 *
 * Surname weights are hundredths of a percent of the population (public
 * surname statistics, 2020 household registration); the long tail beyond
 * these ~100 surnames is left out, so every share is scaled up a little.
 */
#ifndef FK_REGISTRY_NAMES_H
#define FK_REGISTRY_NAMES_H

#include <stdbool.h>

struct gen_weighted {
	const char *text;
	unsigned weight;
};

static const struct gen_weighted gen_surnames[] = {
    {"王", 712}, {"李", 700}, {"张", 674}, {"刘", 538}, {"陈", 453}, {"杨", 308}, {"黄", 223},
    {"赵", 200}, {"吴", 181}, {"周", 179}, {"徐", 147}, {"孙", 142}, {"马", 139}, {"朱", 129},
    {"胡", 121}, {"郭", 118}, {"何", 115}, {"林", 113}, {"高", 110}, {"罗", 105}, {"郑", 92},
    {"梁", 90},  {"谢", 79},  {"宋", 75},  {"唐", 73},  {"许", 70},  {"韩", 68},  {"邓", 68},
    {"冯", 67},  {"曹", 62},  {"彭", 61},  {"曾", 60},  {"肖", 57},  {"田", 56},  {"董", 55},
    {"潘", 53},  {"袁", 53},  {"蔡", 51},  {"蒋", 50},  {"余", 49},  {"于", 48},  {"杜", 47},
    {"叶", 46},  {"程", 45},  {"魏", 44},  {"苏", 43},  {"吕", 43},  {"丁", 42},  {"任", 41},
    {"卢", 40},  {"姚", 39},  {"沈", 38},  {"钟", 37},  {"姜", 36},  {"崔", 35},  {"谭", 34},
    {"陆", 33},  {"范", 32},  {"汪", 31},  {"廖", 30},  {"石", 30},  {"金", 29},  {"韦", 28},
    {"贾", 28},  {"夏", 27},  {"付", 26},  {"方", 25},  {"邹", 24},  {"熊", 24},  {"白", 23},
    {"孟", 23},  {"秦", 22},  {"邱", 22},  {"侯", 21},  {"江", 21},  {"尹", 20},  {"薛", 20},
    {"闫", 19},  {"段", 19},  {"雷", 19},  {"龙", 18},  {"黎", 18},  {"史", 17},  {"陶", 17},
    {"贺", 16},  {"毛", 16},  {"郝", 15},  {"顾", 15},  {"龚", 14},  {"邵", 14},  {"万", 13},
    {"覃", 13},  {"武", 13},  {"钱", 12},  {"戴", 12},  {"严", 12},  {"柯", 10},  {"储", 8},
    {"欧阳", 5}, {"上官", 1}, {"司马", 1}, {"诸葛", 1},
};

/* Characters common in given names, by the sex they are mostly given to. */
static const char *const gen_given_male[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华",
    "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙",
    "林", "阳", "建", "国", "峰", "亮", "成", "志", "海", "东", "文", "新", "永", "家",
    "兵", "锋", "德", "庆", "民", "荣", "昌", "晨", "博", "轩", "泽", "睿", "子", "豪",
    "航", "铭", "诚", "然", "翔", "毅", "坤", "嘉", "天", "云", "振", "江", "山", "刚",
};
static const char *const gen_given_female[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "桂", "英", "慧", "巧",
    "美", "淑", "惠", "玉", "萍", "红", "燕", "彩", "春", "菊", "兰", "凤", "洁", "梅",
    "琳", "素", "云", "莲", "雪", "荣", "爱", "香", "月", "媛", "佳", "琼", "珍", "莉",
    "婷", "倩", "颖", "露", "瑶", "怡", "丹", "蓉", "君", "琴", "薇", "梦", "岚", "欣",
    "晓", "悦", "雨", "涵", "萱", "诗", "思", "梓", "可", "妍", "晶", "彤", "雯", "紫",
};
/* Words shops and firms put before their kind ("惠民超市"). */
static const char *const gen_shop_words[] = {
    "惠民", "百姓", "兴隆", "福源", "鑫源",   "家乐", "永兴", "新华", "金穗", "万家",
    "和顺", "吉祥", "安康", "汉江", "秦巴",   "富民", "利民", "康乐", "春晖", "同心",
    "恒丰", "顺发", "宏达", "瑞丰", "好邻居", "天天", "便民", "阳光", "星辰", "绿源",
};

/* Venue kinds.  per_100k: how many per 100,000 residents (a county seat of
 * Shaanxi's size; restaurants and shops dominate, as on any venue-code
 * list); suffixes: the tail of the name, one picked per venue. */
struct gen_venue_kind {
	const char *kind;
	unsigned per_100k;
	bool urban; /* placed by community population rather than everyone's */
	const char *suffixes[4];
};

static const struct gen_venue_kind gen_venue_kinds[] = {
    {"restaurant", 120, false, {"饭店", "面馆", "火锅店", "蒸面馆"}},
    {"supermarket", 35, false, {"超市", "便利店", "购物中心", "生活超市"}},
    {"market", 8, false, {"农贸市场", "菜市场", "综合市场", "农贸市场"}},
    {"pharmacy", 30, false, {"大药房", "药店", "大药房", "医药超市"}},
    {"clinic", 45, false, {"诊所", "卫生室", "社区卫生服务站", "门诊部"}},
    {"hospital", 3, true, {"人民医院", "中医医院", "妇幼保健院", "中心医院"}},
    {"school", 18, false, {"小学", "中学", "小学", "九年制学校"}},
    {"kindergarten", 12, false, {"幼儿园", "幼儿园", "双语幼儿园", "幼儿园"}},
    {"station", 2, true, {"汽车站", "客运站", "火车站", "公交枢纽站"}},
    {"hotel", 15, true, {"宾馆", "酒店", "快捷酒店", "招待所"}},
    {"office", 20, true, {"大厦", "政务服务中心", "办公楼", "写字楼"}},
    {"factory", 15, false, {"食品厂", "建材厂", "茶厂", "服装厂"}},
    {"bank", 10, true, {"农业银行", "邮政储蓄银行", "农商银行", "建设银行"}},
    {"gym", 5, true, {"健身房", "体育馆", "健身中心", "游泳馆"}},
    {"residential_gate", 40, true, {"小区东门", "小区南门", "小区西门", "小区北门"}},
};

#endif
